/**
 * Time comes from here and nowhere else, so SLA timers, expiry and retry schedules can be
 * tested. The sandbox moves the clock forward by an offset on top of real time.
 */
export interface Clock {
  now(): Date;
  nowMs(): number;
}

export class OffsetClock implements Clock {
  constructor(private offsetMs = 0) {}

  now(): Date {
    return new Date(this.nowMs());
  }

  nowMs(): number {
    return Date.now() + this.offsetMs;
  }

  get offset(): number {
    return this.offsetMs;
  }

  /** Offsets only grow: the service clock never runs backwards. */
  setOffset(offsetMs: number): void {
    if (offsetMs > this.offsetMs) this.offsetMs = offsetMs;
  }
}

export function iso(date: Date | number): string {
  return (typeof date === 'number' ? new Date(date) : date).toISOString();
}

/** Calendar day in Asia/Shanghai (UTC+8, no daylight saving): how limits and statements count days. */
export function shanghaiDay(date: Date): string {
  return new Date(date.getTime() + 8 * 3600_000).toISOString().slice(0, 10);
}
