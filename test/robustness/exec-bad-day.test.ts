// `exec` on a bad day, through the real CLI with the file provider: SIGTERM
// to the agent while it is restarting the application, a restart whose
// command has gone, an application that leaves a grandchild holding stdout,
// and a burst of secret changes.

import t, { type Test } from 'tap';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, waitUntil, type AgentProcess } from '../helpers/agent-process.ts';
import { CHILD_APP as CHILD, execWorkspace, type ExecWorkspace } from '../helpers/exec-workspace.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const PW1 = 'canary-ExecBad-First-Pw-Vu2K9q';
const PW2 = 'canary-ExecBad-Second-Pw-Cs7H4m';
const burst = (i: number): string => `canary-ExecBad-Burst-${i}-Pw-Zr5L`;

const setup = (t: Test, extra: string): ExecWorkspace => execWorkspace(t, PW1, extra);

/** the agent's own exit (not 'close', which waits for whoever else holds its stdout) */
function agentExit(a: AgentProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (a.proc.exitCode !== null || a.proc.signalCode !== null) return Promise.resolve({ code: a.proc.exitCode, signal: a.proc.signalCode });
  return new Promise((r) => a.proc.once('exit', (code, signal) => r({ code, signal })));
}

t.test('SIGTERM while the application is being restarted: the agent stops instead of starting it again', async (t) => {
  // the child ignores the stop signal (SIGUSR2) for the 4 s grace; SIGTERM comes meanwhile
  const s = setup(t, 'exec: { onChange: restart, stopSignal: SIGUSR2, grace: 4s }');
  const a = startAgent(t, ['exec', '-c', s.cfg, '--', process.execPath, CHILD, s.seen, 'stubborn']);
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  await waitUntil(() => s.records().length === 1, 'child started');
  s.setPassword(PW2);
  await waitUntil(() => s.records().some((r) => r.signal === 'SIGUSR2'), 'restart under way');
  a.proc.kill('SIGTERM');
  const end = await agentExit(a);
  t.same(end, { code: 0, signal: null }, "the agent exits with the application's code (0 on SIGTERM)");
  t.same(s.records().map((r) => r.signal ?? 'start'), ['start', 'SIGUSR2', 'SIGTERM'], 'no second application was started');
  t.equal(a.countLogs((l) => l.msg === 'application started'), 1);
  assertNoLeak(t, [a.stdout(), a.stderr()], [PW1, PW2]);
});

t.test('a SIGINT the application handles and survives does not stop a later restart', async (t) => {
  const s = setup(t, 'exec: { onChange: restart, grace: 2s }');
  const app = join(s.dir, 'sigint-app.mjs');
  writeFileSync(
    app,
    `import { appendFileSync } from 'node:fs';
const rec = (o) => appendFileSync(${JSON.stringify(s.seen)}, JSON.stringify({ pid: process.pid, ...o }) + '\\n');
rec({ started: true, password: process.env.ERLMCP_DB_PASSWORD ?? null });
process.on('SIGINT', () => rec({ signal: 'SIGINT' })); // e.g. "dump state", and carry on
process.on('SIGTERM', () => (rec({ signal: 'SIGTERM' }), process.exit(0)));
setInterval(() => {}, 1000);
`,
  );
  const a = startAgent(t, ['exec', '-c', s.cfg, '--', process.execPath, app]);
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  await waitUntil(() => s.records().length === 1, 'child started');
  a.proc.kill('SIGINT');
  await waitUntil(() => s.records().some((r) => r.signal === 'SIGINT'), 'SIGINT reached the application');
  s.setPassword(PW2);
  await waitUntil(() => s.records().some((r) => r.password === PW2), 'restarted with the new value');
  t.same(s.records().map((r) => r.signal ?? r.password), [PW1, 'SIGINT', 'SIGTERM', PW2]);
  t.equal(a.proc.exitCode, null, 'the agent carries on');
  a.proc.kill('SIGTERM');
  t.equal((await agentExit(a)).code, 0);
  assertNoLeak(t, [a.stdout(), a.stderr()], [PW1, PW2]);
});

t.test('a restart whose command has gone ends the agent with a clear error instead of idling without an application', async (t) => {
  const s = setup(t, 'exec: { onChange: restart, grace: 2s }');
  // a copy of the child app the test can delete
  const app = join(s.dir, 'app.mjs');
  writeFileSync(app, readFileSync(CHILD));
  const launcher = join(s.dir, 'app.sh');
  writeFileSync(launcher, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(app)} "$@"\n`, { mode: 0o755 });
  const a = startAgent(t, ['exec', '-c', s.cfg, '--', launcher, s.seen, 'run']);
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  await waitUntil(() => s.records().length === 1, 'child started');
  rmSync(launcher);
  s.setPassword(PW2);
  const end = await agentExit(a);
  t.equal(end.code, 127, 'exit 127, as a shell reports a command that is not there');
  const fatal = a.logs.find((l) => l.msg.startsWith('the application could not be started again'));
  t.ok(fatal, 'logged');
  t.match(String(fatal?.err), /app\.sh: no such file or command on PATH/);
  assertNoLeak(t, [a.stdout(), a.stderr()], [PW1, PW2]);
});

t.test('an application that exits leaving a grandchild with its stdout: the agent exits with its code at once', async (t) => {
  const s = setup(t, '');
  const pidFile = join(s.dir, 'grandchild.pid');
  const app = join(s.dir, 'forker.mjs');
  writeFileSync(
    app,
    `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
const g = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'inherit', detached: true });
writeFileSync(${JSON.stringify(pidFile)}, String(g.pid));
g.unref();
process.exit(5);
`,
  );
  t.teardown(() => {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    } catch {
      // already gone
    }
  });
  const a = startAgent(t, ['exec', '-c', s.cfg, '--', process.execPath, app]);
  const end = await agentExit(a);
  t.same(end, { code: 5, signal: null }, "the application's code");
  t.ok(existsSync(pidFile), 'the grandchild was there, holding stdout');
});

t.test('a burst of changes: the application ends up with the last value, and never runs twice at once', async (t) => {
  const s = setup(t, 'exec: { onChange: restart, grace: 2s }');
  const a = startAgent(t, ['exec', '-c', s.cfg, '--', process.execPath, CHILD, s.seen, 'run']);
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  await waitUntil(() => s.records().length === 1, 'child started');
  for (let i = 0; i < 6; i++) {
    s.setPassword(burst(i));
    await new Promise((r) => setTimeout(r, 60));
  }
  await waitUntil(() => s.records().at(-1)?.password === burst(5), 'the last value reaches the application', 20_000);
  // let any restart still queued run out
  await new Promise((r) => setTimeout(r, 1500));
  const recs = s.records();
  t.equal(recs.filter((r) => r.started).at(-1)?.password, burst(5), 'the running application has the last value');
  // every application stopped before the next one started: start, signal, start, signal, ...
  const kinds = recs.map((r) => (r.started ? 'start' : 'stop'));
  t.ok(kinds.every((k, i) => (i % 2 === 0 ? k === 'start' : k === 'stop')), `strictly alternating: ${kinds.join(',')}`);
  const starts = kinds.filter((k) => k === 'start').length;
  t.ok(starts <= 7, `at most one restart per change (${starts - 1} restarts for 6 changes)`);
  a.proc.kill('SIGTERM');
  t.equal((await agentExit(a)).code, 0);
  assertNoLeak(t, [a.stdout(), a.stderr()], [PW1, PW2, ...Array.from({ length: 6 }, (_, i) => burst(i))]);
});
