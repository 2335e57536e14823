// `erlmcp-secrets exec` through the real CLI with the file provider: the
// application gets the secrets in its environment, its exit code becomes the
// agent's, signals reach it, a secret change restarts it (stop signal, grace,
// SIGKILL) with the new environment, or with onChange: reload only runs the
// reload notifiers.

import t, { type Test } from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startAgent, waitUntil, type AgentProcess } from '../helpers/agent-process.ts';
import { CHILD_APP as CHILD, execWorkspace, type ExecWorkspace } from '../helpers/exec-workspace.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const PW1 = 'canary-Exec-First-Pw-Qm4Z8x';
const PW2 = 'canary-Exec-Second-Pw-Lr7Y2c';

const setup = (t: Test, extra: string): ExecWorkspace => execWorkspace(t, PW1, extra);

function noLeak(t: Test, a: AgentProcess): void {
  assertNoLeak(t, [a.stdout(), a.stderr()], [PW1, PW2]);
}

t.test('the application sees the secret in its environment and its exit code is the agent\'s', async (t) => {
  const s = setup(t, '');
  const a = s.start('exit7');
  const { code } = await a.exited;
  t.equal(code, 7, 'child exits 7 -> agent exits 7');
  const [rec] = s.records();
  t.equal(rec?.password, PW1, 'ERLMCP_DB_PASSWORD in the child environment');
  t.equal(rec?.agentConfigVar, null, 'agent-only variables are not inherited');
  t.equal(readFileSync(join(s.dir, 'out/pw.txt'), 'utf8'), PW1, 'init rendered the files first');
  t.match(a.stdout(), /child \d+ up/, 'the child\'s stdout passes through');
  noLeak(t, a);
});

t.test('a missing command exits 127 and one that is not executable 126, as a shell would, with a clear message', async (t) => {
  const s = setup(t, '');
  const missing = startAgent(t, ['exec', '-c', s.cfg, '--', join(s.dir, 'no-such-app')]);
  t.equal((await missing.exited).code, 127);
  t.match(missing.stderr(), /exec: cannot start .*no-such-app: no such file or command on PATH/);
  writeFileSync(join(s.dir, 'not-executable'), '#!/bin/sh\nexit 0\n', { mode: 0o644 });
  const denied = startAgent(t, ['exec', '-c', s.cfg, '--', join(s.dir, 'not-executable')]);
  t.equal((await denied.exited).code, 126);
  t.match(denied.stderr(), /exec: cannot start .*not-executable: permission denied/);
  for (const a of [missing, denied]) {
    t.ok(a.countLogs((l) => l.msg === 'sidecar stopped') === 1, 'the sidecar is stopped cleanly');
    noLeak(t, a);
  }
});

t.test('the health port is bound before the application starts: a taken port starts nothing', async (t) => {
  const s = setup(t, '');
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as AddressInfo).port;
  writeFileSync(s.cfg, readFileSync(s.cfg, 'utf8').replace('server: { enabled: false }', `server: { listen: "127.0.0.1:${port}" }`));
  const a = s.start('run');
  const { code } = await a.exited;
  t.not(code, 0, 'the agent fails');
  t.same(s.records(), [], 'the application was never started');
  t.equal(a.countLogs((l) => l.msg === 'application started'), 0);
  noLeak(t, a);
});

t.test('log order: sidecar running, then application started, then application exited', async (t) => {
  const s = setup(t, '');
  writeFileSync(s.cfg, readFileSync(s.cfg, 'utf8').replace('server: { enabled: false }', 'server: { listen: "127.0.0.1:0" }'));
  const a = s.start('exit7');
  t.equal((await a.exited).code, 7);
  const order = a.logs.map((l) => l.msg).filter((m) => ['health server listening', 'sidecar running', 'application started', 'application exited', 'sidecar stopped'].includes(m));
  t.same(order, ['health server listening', 'sidecar running', 'application started', 'application exited', 'sidecar stopped']);
});

t.test('SIGTERM to the agent reaches the application; the agent exits with its code', async (t) => {
  const s = setup(t, '');
  const a = s.start('exit3-on-term');
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  await waitUntil(() => s.records().length === 1, 'child started');
  a.proc.kill('SIGTERM');
  const { code } = await a.exited;
  t.equal(code, 3, 'the child\'s exit code');
  t.same(s.records().map((r) => r.signal ?? 'start'), ['start', 'SIGTERM'], 'the child got SIGTERM');
  t.match(a.stderr(), /sidecar stopped/);
  noLeak(t, a);
});

t.test('a secret change restarts the application with the new environment (configured stop signal)', async (t) => {
  const s = setup(t, 'exec: { onChange: restart, stopSignal: SIGUSR2, grace: 5s }');
  const a = s.start('run');
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  await waitUntil(() => s.records().length === 1, 'child started');
  s.setPassword(PW2);
  await waitUntil(() => s.records().length === 3, 'restart', 15_000);
  const [first, stop, second] = s.records();
  t.same([first?.password, stop?.signal, second?.password], [PW1, 'SIGUSR2', PW2], 'stopped with SIGUSR2, started again with the new value');
  t.equal(stop?.pid, first?.pid);
  t.not(second?.pid, first?.pid, 'a new process');
  t.ok(a.countLogs((l) => l.msg === 'application started') === 2);
  a.proc.kill('SIGTERM');
  const { code } = await a.exited;
  t.equal(code, 0, 'the restarted child exited 0 on SIGTERM');
  t.equal(s.records().at(-1)?.signal, 'SIGTERM', 'SIGTERM forwarded to the new child');
  noLeak(t, a);
});

t.test('an application that ignores the stop signal is killed after the grace period', async (t) => {
  const s = setup(t, 'exec: { onChange: restart, stopSignal: SIGUSR2, grace: 1s }');
  const a = s.start('stubborn');
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  await waitUntil(() => s.records().length === 1, 'child started');
  s.setPassword(PW2);
  await a.waitForLog((l) => l.msg === 'application did not stop within the grace period; sending SIGKILL', 'grace expiry');
  await waitUntil(() => s.records().some((r) => r.password === PW2), 'restarted');
  t.same(s.records().map((r) => r.signal ?? r.password), [PW1, 'SIGUSR2', PW2]);
  t.match(a.logs.find((l) => l.msg === 'application exited' && l.signal === 'SIGKILL'), {}, 'the old one was killed');
  a.proc.kill('SIGTERM');
  t.equal((await a.exited).code, 0);
  noLeak(t, a);
});

t.test('onChange: reload runs the reload notifiers and leaves the application running', async (t) => {
  const marker = 'reload-marker';
  const s = setup(t, `exec: { onChange: reload }\nreload: [ { type: exec, command: [sh, -c, 'echo reloaded >> ${marker}'] } ]`);
  const a = startAgent(t, ['exec', '-c', join(s.dir, 'agent.yaml'), '--', process.execPath, CHILD, s.seen, 'run'], { cwd: s.dir });
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  await waitUntil(() => s.records().length === 1, 'child started');
  s.setPassword(PW2);
  await waitUntil(() => existsSync(join(s.dir, marker)), 'reload notifier ran');
  t.equal(readFileSync(join(s.dir, 'out/pw.txt'), 'utf8'), PW2, 'the file was re-rendered');
  t.equal(readFileSync(join(s.dir, marker), 'utf8'), 'reloaded\n', 'notifier ran once');
  t.equal(s.records().length, 1, 'no restart: the application keeps running with its environment');
  a.proc.kill('SIGTERM');
  t.equal((await a.exited).code, 0);
  noLeak(t, a);
});
