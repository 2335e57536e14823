// A workspace for `exec` through the real CLI: a file provider with one
// secret (db.password), the test application test/exec/child-app.mjs, which
// appends a JSON line per event (started, signal, exit...) to seen.jsonl.

import type { Test } from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startAgent, type AgentProcess } from './agent-process.ts';

export const CHILD_APP = resolve(import.meta.dirname, '../exec/child-app.mjs');

export interface ExecWorkspace {
  dir: string;
  cfg: string;
  seen: string;
  /** the child's records so far */
  records(): Array<Record<string, unknown>>;
  setPassword(pw: string): void;
  /** `exec` of child-app.mjs in `mode` */
  start(mode: string): AgentProcess;
}

/** `extra`: config lines appended (exec:, reload:, ...) */
export function execWorkspace(t: Test, firstPassword: string, extra: string): ExecWorkspace {
  const dir = mkdtempSync(join(tmpdir(), 'exec-ws-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'secrets/db'), { recursive: true });
  const setPassword = (pw: string): void => writeFileSync(join(dir, 'secrets/db/password'), pw);
  setPassword(firstPassword);
  const cfg = join(dir, 'agent.yaml');
  writeFileSync(
    cfg,
    `providers: { local: { type: file, path: ./secrets } }
secrets: { db: { provider: local } }
templates: [ { contents: "{{db.password}}", destination: pw.txt } ]
output: { root: ./out }
server: { enabled: false }
refresh: { interval: 1s, jitter: 0 }
${extra}`,
  );
  const seen = join(dir, 'seen.jsonl');
  return {
    dir,
    cfg,
    seen,
    // complete lines only: the child may have created the file, or be half-way
    // through a line, at the moment it is read
    records: () => (existsSync(seen) ? readFileSync(seen, 'utf8').split('\n').slice(0, -1).map((l) => JSON.parse(l) as Record<string, unknown>) : []),
    setPassword,
    start: (mode) => startAgent(t, ['exec', '-c', cfg, '--', process.execPath, CHILD_APP, seen, mode]),
  };
}
