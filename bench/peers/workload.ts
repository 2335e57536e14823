// The data every agent renders, the same for all of them: secrets at
// secret/data/bench/s<i> (KV v2, one field `value`), and templates that each
// write `S<i>=<value>` lines for their secrets to t<j>.txt.

export const KV_MOUNT = 'secret';

export interface Workload {
  secrets: number;
  /** per template, the secret indices it uses */
  templates: number[][];
}

/** one-shot: 10 secrets, 5 templates that each use all 10 */
export function oneShotWorkload(): Workload {
  const all = [...Array(10).keys()];
  return { secrets: 10, templates: [...Array(5).keys()].map(() => all) };
}

/** sidecar: 100 secrets, 20 templates of 5 secrets each */
export function sidecarWorkload(): Workload {
  return { secrets: 100, templates: [...Array(20).keys()].map((j) => [0, 1, 2, 3, 4].map((k) => j * 5 + k)) };
}

export const secretPath = (i: number): string => `bench/s${i}`;
export const outputFile = (j: number): string => `t${j}.txt`;

/** the line secret i's value takes in every agent's output */
export const outputLine = (i: number, value: string): string => `S${i}=${value}\n`;

/** the template that holds secret i in a workload */
export function templateOf(w: Workload, i: number): number {
  const j = w.templates.findIndex((ids) => ids.includes(i));
  if (j < 0) throw new Error(`secret ${i} is in no template`);
  return j;
}

/** the first line of template j's output: every template differs (consul-template
 * merges templates of equal text into one, and renders only one destination) */
export const outputHeader = (j: number): string => `# t${j}\n`;
