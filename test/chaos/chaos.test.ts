import { describe, expect, it } from 'vitest';
import { DIALECT } from '../support/test-database.js';
import { type ChaosReport, chaosOptions, formatReport, runChaos } from './run-chaos.js';

/**
 * The short, seeded chaos run CI does on each dialect (`npm run chaos` runs the same; add
 * `-- --long` for a long one): customers recharge through randomly failing channels, spend,
 * apply for refunds that staff decide, get compensated — while `topup` processes are SIGKILLed
 * and restarted and channel notifications are lost and replayed. After the drain no fen is
 * lost or made, nothing is left pending, nothing was paid out or told twice.
 */
describe(`chaos: conservation under faults (${DIALECT})`, () => {
  let report: ChaosReport;

  it('runs the workload through kills and faults, then drains', { timeout: 600_000 }, async () => {
    report = await runChaos(chaosOptions(process.env, (line) => console.log(line)));
    console.log(formatReport(report));
    expect(report.totalOperations).toBeGreaterThan(100);
    expect(report.kills).toBeGreaterThan(0);
  });

  it('topup verify is clean', () => {
    expect(report.verify.code, report.verify.output).toBe(0);
    expect(report.verify.output).toContain('verify: clean');
  });

  it('every collection was credited once or refunded once; nothing pending, paid twice or told twice', () => {
    expect(report.checks.figures.collections).toBeGreaterThan(0);
    expect(report.checks.violations).toEqual([]);
  });

  it('every answer kept the contract (no 5xx, no unexpected status)', () => {
    expect(report.problems).toEqual([]);
  });
});
