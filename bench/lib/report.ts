import type { Sample } from './load.js';
import { median } from './stats.js';

export type Target =
  | { kind: 'ratio'; min: number; maxP99Ms?: number; text: string }
  | { kind: 'rate'; min: number; text: string }
  | { kind: 'none' };

export interface Figure {
  id: string;
  label: string;
  unit: string;
  topup: Sample[];
  baselineLabel: string | null;
  baseline: Sample[] | null;
  target: Target;
  note?: string;
}

export interface Summary {
  id: string;
  label: string;
  unit: string;
  topup: { rate: number; p50: number; p99: number; failures: number; runs: number[] };
  baselineLabel: string | null;
  baseline: { rate: number; p50: number; p99: number; runs: number[] } | null;
  ratio: number | null;
  target: string;
  met: boolean | null;
  note?: string;
}

function medians(samples: Sample[]) {
  return {
    rate: median(samples.map((s) => s.rate)),
    p50: median(samples.map((s) => s.p50)),
    p99: median(samples.map((s) => s.p99)),
    failures: samples.reduce((sum, s) => sum + s.failures, 0),
    runs: samples.map((s) => Math.round(s.rate)),
  };
}

export function summarise(figure: Figure): Summary {
  const topup = medians(figure.topup);
  const baseline = figure.baseline && figure.baseline.length > 0 ? medians(figure.baseline) : null;
  const ratio = baseline && baseline.rate > 0 ? topup.rate / baseline.rate : null;
  let met: boolean | null = null;
  let target = '—';
  if (figure.target.kind === 'ratio') {
    target = figure.target.text;
    met = ratio !== null && ratio >= figure.target.min && (figure.target.maxP99Ms === undefined || topup.p99 < figure.target.maxP99Ms);
  } else if (figure.target.kind === 'rate') {
    target = figure.target.text;
    met = topup.rate >= figure.target.min;
  }
  if (topup.failures > 0) met = met === null ? null : false;
  return {
    id: figure.id,
    label: figure.label,
    unit: figure.unit,
    topup,
    baselineLabel: figure.baselineLabel,
    baseline: baseline ? { rate: baseline.rate, p50: baseline.p50, p99: baseline.p99, runs: baseline.runs } : null,
    ratio,
    target,
    met,
    note: figure.note,
  };
}

const num = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—');
const ms = (value: number) => (Number.isFinite(value) ? (value < 10 ? value.toFixed(2) : value.toFixed(1)) : '—');

function cells(s: Summary): string[] {
  const failures = s.topup.failures > 0 ? ` (${s.topup.failures} failed)` : '';
  return [
    s.label,
    `${num(s.topup.rate)} ${s.unit}${failures}`,
    `${ms(s.topup.p50)} / ${ms(s.topup.p99)}`,
    s.baselineLabel ?? '—',
    s.baseline ? num(s.baseline.rate) : '—',
    s.baseline ? `${ms(s.baseline.p50)} / ${ms(s.baseline.p99)}` : '—',
    s.ratio === null ? '—' : `${s.ratio.toFixed(2)}×`,
    s.target,
    s.met === null ? '—' : s.met ? 'yes' : 'no',
  ];
}

const HEADER = ['figure', 'Topup', 'p50 / p99 ms', 'baseline', 'baseline rate', 'p50 / p99 ms', 'ratio', 'target', 'met'];

export function markdownTable(summaries: Summary[]): string {
  const rows = [HEADER, HEADER.map(() => '---'), ...summaries.map(cells)];
  return `${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n`;
}

export function textTable(summaries: Summary[]): string {
  const rows = [HEADER, ...summaries.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  return `${[line(HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n')}\n`;
}
