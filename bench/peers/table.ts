// The figures of every round, reduced to one table: per figure and agent
// the median over rounds (change-to-file: median and p90 over every change
// of every round), and our figure as a ratio to the best peer's. Check gaps:
// each round's p50, p99, max and share over 1.5x of its gaps, then the
// median over rounds, so that one round hit by a burst of load from elsewhere
// on the machine does not set the figure alone.

import { gapStats } from '../check-gaps.ts';
import { computedMedian } from './change-model.ts';

export interface RoundFigures {
  oneShotMs: number[];
  rssMb: number[];
  ussMb: number[];
  anonMb: number[];
  cpuPerCycleMs: number[];
  requestsPerCycle: number[];
  valueReadsPerCycle: number[];
  changeToFileMs: number[];
  /** per change, from the server's answer to the write to the agent's first read of it after (audit-log.ts changeStages) */
  changeWaitMs: number[];
  /** per change, from that read to the new line in the file */
  checkToFileMs: number[];
  /** per round, every gap between two checks of a secret while the changes were made (ms, ascending) */
  changeGapsMs: number[][];
  /** per round, every gap between two checks of a secret while the busy processes ran, ms (ascending) */
  checkGapsMs: number[][];
  /** the agent's own cgroup (cgroup.ts), when there is one */
  cgroupMb: number[];
  cgroupAnonMb: number[];
  cgroupFileMb: number[];
  cgroupWorkingSetMb: number[];
}

export const emptyFigures = (): RoundFigures => ({
  oneShotMs: [],
  rssMb: [],
  ussMb: [],
  anonMb: [],
  cpuPerCycleMs: [],
  requestsPerCycle: [],
  valueReadsPerCycle: [],
  changeToFileMs: [],
  changeWaitMs: [],
  checkToFileMs: [],
  changeGapsMs: [],
  checkGapsMs: [],
  cgroupMb: [],
  cgroupAnonMb: [],
  cgroupFileMb: [],
  cgroupWorkingSetMb: [],
});

/** what the row labels say about how the run was made */
export interface TableContext {
  intervalMs: number;
  /** busy processes during the schedule window */
  busy: number;
  /** busy processes while the changes were made */
  changeBusy?: number;
  /** where cgroup memory came from (cgroup.ts Cgroups.source), or why it was not measured */
  cgroup: { source: string } | { notMeasured: string };
}

export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (at - lo);
}

interface Row {
  figure: string | ((c: TableContext) => string);
  /** after the number: ' ms', ' MB', 'x' (of the interval), '%' */
  unit: string;
  digits: number;
  value(f: RoundFigures, c: TableContext): number;
}

/** the median over rounds of one of each round's gap figures */
const gaps = (f: RoundFigures, c: TableContext, k: 'p50' | 'p99' | 'max' | 'overOneAndHalf') => quantile(f.checkGapsMs.map((g) => gapStats(g, c.intervalMs)[k]), 0.5);
/** the change rows say when the changes were made with busy processes */
const changeRow = (what: string) => (c: TableContext) => `change to file${what}${c.changeBusy ? `, ${c.changeBusy} busy processes` : ''}`;
const gapRow = (what: string) => (c: TableContext) => `check gap ${what}, ${c.busy} busy processes`;
/** the first cgroup row names the source, or why there is none */
const cgroupRow = (what: string, first = false) => (c: TableContext) =>
  'source' in c.cgroup ? `sidecar cgroup ${what}${first ? ` (${c.cgroup.source})` : ''}` : `sidecar cgroup ${what}: not measured${first ? ` (${c.cgroup.notMeasured})` : ''}`;

export const ROWS: Row[] = [
  { figure: 'one-shot render, process start to exit', unit: ' ms', digits: 1, value: (f) => quantile(f.oneShotMs, 0.5) },
  { figure: 'sidecar RSS', unit: ' MB', digits: 1, value: (f) => quantile(f.rssMb, 0.5) },
  { figure: 'sidecar USS', unit: ' MB', digits: 1, value: (f) => quantile(f.ussMb, 0.5) },
  { figure: 'sidecar anonymous memory', unit: ' MB', digits: 1, value: (f) => quantile(f.anonMb, 0.5) },
  { figure: 'CPU per check cycle of 100 secrets', unit: ' ms', digits: 0, value: (f) => quantile(f.cpuPerCycleMs, 0.5) },
  { figure: 'requests per cycle', unit: '', digits: 0, value: (f) => quantile(f.requestsPerCycle, 0.5) },
  { figure: 'value reads per cycle', unit: '', digits: 0, value: (f) => quantile(f.valueReadsPerCycle, 0.5) },
  { figure: changeRow(', median'), unit: ' ms', digits: 0, value: (f) => quantile(f.changeToFileMs, 0.5) },
  { figure: changeRow(', p90'), unit: ' ms', digits: 0, value: (f) => quantile(f.changeToFileMs, 0.9) },
  { figure: changeRow(', median computed from the check gaps and the check-to-file times'), unit: ' ms', digits: 0, value: (f) => computedMedian(f.changeGapsMs.flat(), f.checkToFileMs) },
  { figure: changeRow(': waiting for the check, median'), unit: ' ms', digits: 0, value: (f) => quantile(f.changeWaitMs, 0.5) },
  { figure: changeRow(': from the check to the file, median'), unit: ' ms', digits: 1, value: (f) => quantile(f.checkToFileMs, 0.5) },
  { figure: changeRow(': from the check to the file, p90'), unit: ' ms', digits: 1, value: (f) => quantile(f.checkToFileMs, 0.9) },
  { figure: gapRow('p50 / interval'), unit: 'x', digits: 2, value: (f, c) => gaps(f, c, 'p50') },
  { figure: gapRow('p99 / interval'), unit: 'x', digits: 2, value: (f, c) => gaps(f, c, 'p99') },
  { figure: gapRow('max / interval'), unit: 'x', digits: 2, value: (f, c) => gaps(f, c, 'max') },
  { figure: gapRow('share over 1.5x the interval'), unit: '%', digits: 1, value: (f, c) => gaps(f, c, 'overOneAndHalf') * 100 },
  { figure: cgroupRow('memory.current', true), unit: ' MB', digits: 1, value: (f) => quantile(f.cgroupMb, 0.5) },
  { figure: cgroupRow('anon (memory.stat)'), unit: ' MB', digits: 1, value: (f) => quantile(f.cgroupAnonMb, 0.5) },
  { figure: cgroupRow('file (memory.stat)'), unit: ' MB', digits: 1, value: (f) => quantile(f.cgroupFileMb, 0.5) },
  { figure: cgroupRow('working set (memory.current less inactive file)'), unit: ' MB', digits: 1, value: (f) => quantile(f.cgroupWorkingSetMb, 0.5) },
];

export const rowFigure = (r: Row, c: TableContext): string => (typeof r.figure === 'string' ? r.figure : r.figure(c));

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

const ratioCell = (r: number): string => (Number.isNaN(r) ? 'n/a' : r === Infinity ? '∞' : `${r.toFixed(2)}x`);

/** a markdown table: one column per agent, then one ratio column per non-peer */
export function formatTable(columns: Column[], ctx: TableContext): string {
  const peers = columns.filter((c) => c.peer);
  const ours = columns.filter((c) => !c.peer);
  const head = ['figure', ...columns.map((c) => c.label), ...ours.map((c) => `${c.label} / best peer`)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const row of ROWS) {
    const cell = (v: number) => (Number.isNaN(v) ? 'n/a' : `${v.toFixed(row.digits)}${row.unit}`);
    const peerValues = peers.map((c) => row.value(c.figures, ctx));
    const ratios = ours.map((c) => ratioCell(ratio(row.value(c.figures, ctx), peerValues)));
    lines.push(`| ${[rowFigure(row, ctx), ...columns.map((c) => cell(row.value(c.figures, ctx))), ...ratios].join(' | ')} |`);
  }
  return lines.join('\n');
}
