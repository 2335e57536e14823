// The figures of every round, reduced to one table: per figure and agent
// the median over rounds (change-to-file: median and p90 over every change
// of every round), and our figure as a ratio to the best peer's.

export interface RoundFigures {
  oneShotMs: number[];
  rssMb: number[];
  ussMb: number[];
  anonMb: number[];
  cpuPerCycleMs: number[];
  requestsPerCycle: number[];
  valueReadsPerCycle: number[];
  changeToFileMs: number[];
}

export const emptyFigures = (): RoundFigures => ({ oneShotMs: [], rssMb: [], ussMb: [], anonMb: [], cpuPerCycleMs: [], requestsPerCycle: [], valueReadsPerCycle: [], changeToFileMs: [] });

export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (at - lo);
}

interface Row {
  figure: string;
  unit: string;
  digits: number;
  value(f: RoundFigures): number;
}

export const ROWS: Row[] = [
  { figure: 'one-shot render, process start to exit', unit: 'ms', digits: 1, value: (f) => quantile(f.oneShotMs, 0.5) },
  { figure: 'sidecar RSS', unit: 'MB', digits: 1, value: (f) => quantile(f.rssMb, 0.5) },
  { figure: 'sidecar USS', unit: 'MB', digits: 1, value: (f) => quantile(f.ussMb, 0.5) },
  { figure: 'sidecar anonymous memory', unit: 'MB', digits: 1, value: (f) => quantile(f.anonMb, 0.5) },
  { figure: 'CPU per check cycle of 100 secrets', unit: 'ms', digits: 0, value: (f) => quantile(f.cpuPerCycleMs, 0.5) },
  { figure: 'requests per cycle', unit: '', digits: 0, value: (f) => quantile(f.requestsPerCycle, 0.5) },
  { figure: 'value reads per cycle', unit: '', digits: 0, value: (f) => quantile(f.valueReadsPerCycle, 0.5) },
  { figure: 'change to file, median', unit: 'ms', digits: 0, value: (f) => quantile(f.changeToFileMs, 0.5) },
  { figure: 'change to file, p90', unit: 'ms', digits: 0, value: (f) => quantile(f.changeToFileMs, 0.9) },
];

export interface Column {
  id: string;
  label: string;
  peer: boolean;
  figures: RoundFigures;
}

/** ours / best peer (the lowest figure among the peers); both 0: 1 */
export function ratio(ours: number, peers: number[]): number {
  const best = Math.min(...peers);
  if (best === 0) return ours === 0 ? 1 : Infinity;
  return ours / best;
}

/** a markdown table: one column per agent, then one ratio column per non-peer */
export function formatTable(columns: Column[]): string {
  const peers = columns.filter((c) => c.peer);
  const ours = columns.filter((c) => !c.peer);
  const head = ['figure', ...columns.map((c) => c.label), ...ours.map((c) => `${c.label} / best peer`)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const row of ROWS) {
    const cell = (v: number) => `${v.toFixed(row.digits)}${row.unit ? ` ${row.unit}` : ''}`;
    const peerValues = peers.map((c) => row.value(c.figures));
    const ratios = ours.map((c) => `${ratio(row.value(c.figures), peerValues).toFixed(2)}x`);
    lines.push(`| ${[`${row.figure}`, ...columns.map((c) => cell(row.value(c.figures))), ...ratios].join(' | ')} |`);
  }
  return lines.join('\n');
}
