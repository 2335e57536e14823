// A `run` sidecar through the real CLI with the file provider in a temp dir,
// for the robustness tests: one secret, one or more rendered files, an exec
// reload notifier that appends a line to a file per run (so a test can count
// reloads without reading logs), and helpers for /readyz and /metrics.

import type { Test } from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, type AgentProcess, type StartOptions } from './agent-process.ts';

export interface SidecarFixture {
  dir: string;
  cfg: string;
  out: string;
  /** the rendered file */
  file: string;
  setPassword(pw: string): void;
  /** how many times the reload notifier ran */
  reloads(): number;
  start(opts?: StartOptions): AgentProcess;
}

export function sidecarFixture(t: Test, opts: { password: string; refresh?: string; server?: boolean; extraTemplates?: string; tmpl?: string }): SidecarFixture {
  const dir = mkdtempSync(join(tmpdir(), 'robust-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'secrets'));
  const setPassword = (pw: string): void => writeFileSync(join(dir, 'secrets/db'), pw);
  setPassword(opts.password);
  const marks = join(dir, 'reloads.txt');
  const cfg = join(dir, 'agent.yaml');
  const tmpl = opts.tmpl ?? `{ contents: "password={{db.value}}\\n", destination: app.conf }`;
  writeFileSync(
    cfg,
    `providers: { local: { type: file, path: ./secrets } }
secrets: { db: { provider: local } }
templates:
  - ${tmpl}
${opts.extraTemplates ?? ''}
output: { root: ./out }
server: ${opts.server === false ? '{ enabled: false }' : '{ listen: "127.0.0.1:0" }'}
refresh: ${opts.refresh ?? '{ interval: 1s, jitter: 0 }'}
reload:
  - { type: exec, command: [${JSON.stringify(process.execPath)}, -e, ${JSON.stringify(`require('node:fs').appendFileSync(${JSON.stringify(marks)}, 'x')`)}] }
`,
  );
  return {
    dir,
    cfg,
    out: join(dir, 'out'),
    file: join(dir, 'out/app.conf'),
    setPassword,
    reloads: () => (existsSync(marks) ? readFileSync(marks, 'utf8').length : 0),
    start: (o) => startAgent(t, ['run', '-c', cfg], o),
  };
}

export async function serverUrl(a: AgentProcess): Promise<string> {
  return String((await a.waitForLog((l) => l.msg === 'health server listening', 'server')).url);
}

/** one metric sample's value, or undefined */
export async function metric(url: string, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
