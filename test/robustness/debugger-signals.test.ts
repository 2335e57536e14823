// Signals that must not open a way into the agent or end it wrongly, through
// the built bundle (the program the image runs):
// - SIGUSR1 would make Node open the V8 inspector on 127.0.0.1:9229, where
//   anything on the pod's loopback could run code inside the agent;
// - SIGUSR2 would kill it (status 140);
// - a burst of SIGTERMs used to end it by the signal (143) instead of exit 0;
// - the inspector asked for on the command line or in NODE_OPTIONS is refused.

import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startAgent, waitUntil } from '../helpers/agent-process.ts';
import { BUNDLE, ROOT, runCli } from '../helpers/cli.ts';
import { CHILD_APP, execWorkspace } from '../helpers/exec-workspace.ts';
import { listeningPorts } from '../helpers/listening-ports.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { serverUrl, sidecarFixture } from '../helpers/robust-sidecar.ts';

const PW = 'canary-Debugger-Signals-Pw-9vQ2';
const IMAGE_FLAGS = (JSON.parse(readFileSync(path.join(ROOT, 'image/node-flags.json'), 'utf8')) as { flags: string[] }).flags;

t.test('image/node-flags.json (the image and the single executable) disables SIGUSR1 in node itself', async (t) => {
  t.ok(IMAGE_FLAGS.includes('--disable-sigusr1'));
});

// plain `node dist/erlmcp-secrets.js` (no flag): the agent's own guard; the image's flags: both
for (const [how, nodeArgs] of [
  ['plain node', []],
  ['the image flags', IMAGE_FLAGS],
] as const) {
  t.test(`SIGUSR1 and SIGUSR2 to a running sidecar (${how}): no inspector, still serving, SIGUSR2 logged`, async (t) => {
    const f = sidecarFixture(t, { password: PW });
    const a = f.start({ program: BUNDLE, nodeArgs: [...nodeArgs] });
    const url = await serverUrl(a);
    await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
    const port = Number(new URL(url).port);
    const pid = a.proc.pid!;
    t.same(listeningPorts(pid), [port], 'before: only the health server listens');
    for (let i = 0; i < 3; i++) {
      a.proc.kill('SIGUSR1');
      a.proc.kill('SIGUSR2');
      await new Promise((r) => setTimeout(r, 100));
    }
    // with --disable-sigusr1 node keeps SIGUSR1 from JS altogether: nothing to log
    if (nodeArgs.length === 0) await a.waitForLog((l) => l.msg.startsWith('SIGUSR1 ignored'), 'SIGUSR1 logged');
    await a.waitForLog((l) => l.msg === 'SIGUSR2 ignored', 'SIGUSR2 logged');
    // the inspector would be listening within milliseconds; give it far longer
    await new Promise((r) => setTimeout(r, 1000));
    t.same(listeningPorts(pid), [port], 'after: still only the health server; no inspector port (9229 or any other)');
    t.notOk(a.stderr().includes('Debugger listening'), 'node never announced a debugger');
    t.equal((await fetch(`${url}/healthz`)).status, 200, '/healthz still answers');
    t.equal(a.proc.exitCode, null, 'still running');
    a.proc.kill('SIGTERM');
    t.same(await a.exited, { code: 0, signal: null });
    assertNoLeak(t, [a.stdout(), a.stderr()], [PW]);
  });
}

t.test('SIGUSR1 from the very start (image flags): the inspector never opens, even before the guard is installed', async (t) => {
  // --disable-sigusr1 leaves SIGUSR1 its OS default until the loader's first
  // line installs a listener: a signal in those first milliseconds ends the
  // process (status 138) instead of opening a debugger. Either way, no port.
  const f = sidecarFixture(t, { password: PW });
  for (let round = 0; round < 3; round++) {
    const a = f.start({ program: BUNDLE, nodeArgs: IMAGE_FLAGS });
    const pid = a.proc.pid!;
    let running = false;
    a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running').then(
      () => (running = true),
      () => {},
    );
    const ports = new Set<number>();
    // a signal every few ms from spawn until the sidecar runs or is gone
    for (let i = 0; !running && a.proc.exitCode === null && a.proc.signalCode === null && i < 3000; i++) {
      try {
        a.proc.kill('SIGUSR1');
        for (const p of listeningPorts(pid)) ports.add(p);
      } catch {
        break; // exited between the check and the signal
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    const health = a.logs.find((l) => l.msg === 'health server listening');
    const healthPort = health ? Number(new URL(String(health.url)).port) : undefined;
    t.same([...ports].filter((p) => p !== healthPort), [], `round ${round}: no port but the health server's was ever listening`);
    t.notOk(a.stderr().includes('Debugger listening'), `round ${round}: node never announced a debugger`);
    if (running) {
      a.proc.kill('SIGTERM');
      t.same(await a.exited, { code: 0, signal: null }, `round ${round}: came up under the stream of SIGUSR1 and stops cleanly`);
    } else {
      t.same(await a.exited, { code: null, signal: 'SIGUSR1' }, `round ${round}: ended by the signal before the guard, without a debugger`);
    }
  }
});

t.test('five SIGTERMs 1 ms apart: exit 0, every time', async (t) => {
  const f = sidecarFixture(t, { password: PW });
  for (let round = 0; round < 5; round++) {
    const a = f.start({ program: BUNDLE });
    await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
    for (let i = 0; i < 5; i++) {
      a.proc.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 1));
    }
    t.same(await a.exited, { code: 0, signal: null }, `round ${round}: exit 0, not death by SIGTERM`);
    t.ok(a.logs.some((l) => l.msg === 'sidecar stopped'), `round ${round}: the stop completed`);
  }
});

t.test('exec: SIGUSR1 goes to the application; the agent opens no inspector and keeps running', async (t) => {
  const ws = execWorkspace(t, PW, 'exec: { onChange: restart }\n');
  // the application is node too; told to ignore SIGUSR1 so it stays up and opens nothing itself
  const a = startAgent(t, ['exec', '-c', ws.cfg, '--', process.execPath, '--disable-sigusr1', CHILD_APP, ws.seen, 'run'], { program: BUNDLE });
  await waitUntil(() => ws.records().some((r) => r.started === true), 'application started');
  a.proc.kill('SIGUSR1');
  await new Promise((r) => setTimeout(r, 1000));
  t.same(listeningPorts(a.proc.pid!), [], 'the agent listens on nothing (server disabled, no inspector)');
  t.notOk(a.stderr().includes('Debugger listening'));
  t.equal(a.proc.exitCode, null, 'the agent keeps running');
  a.proc.kill('SIGTERM');
  t.equal((await a.exited).signal, null);
});

t.test('the inspector asked for on the command line or in NODE_OPTIONS: refused, exit 2, before anything is read', async (t) => {
  const cases: Array<[string, string[], NodeJS.ProcessEnv]> = [
    ['--inspect-port=0', [], { NODE_OPTIONS: '--inspect-port=0' }],
    ['--inspect=127.0.0.1:0', ['--inspect=127.0.0.1:0'], {}],
    // node reads '_' as '-' in option names: --inspect_port is --inspect-port
    ['--inspect_port=0', [], { NODE_OPTIONS: '--inspect_port=0' }],
  ];
  for (const [flag, nodeArgs, env] of cases) {
    const r = await runCli(['check', '-c', '/nonexistent/agent.yaml'], { program: BUNDLE, nodeArgs, env, timeoutMs: 30_000 });
    t.equal(r.code, 2, `${flag}: exit 2`);
    t.match(r.stderr, `refusing to run with the V8 inspector (${flag}): anything that reaches its port could run code inside the agent; remove ${flag} from the command line and NODE_OPTIONS`);
    t.notMatch(r.stderr, /nonexistent/, `${flag}: the config was never read`);
  }
});

t.test('inspectorFlag: every flag that opens or arms the inspector, plain or quoted in NODE_OPTIONS; nothing else', async (t) => {
  const { inspectorFlag } = await import('../../agent/cli/signal-guard.ts');
  for (const f of ['--inspect', '--inspect=0', '--inspect-brk', '--inspect-wait=127.0.0.1:1', '--inspect-port=9230', '--debug-port=1']) {
    t.equal(inspectorFlag([f], undefined), f, `${f} on the command line`);
    t.equal(inspectorFlag([], `--max-old-space-size=64 "${f}"`), f, `${f} quoted in NODE_OPTIONS`);
  }
  t.equal(inspectorFlag(['--disable-sigusr1', '--lite-mode'], '--max-old-space-size=64 --import="x y"'), undefined);
  t.equal(inspectorFlag(['--inspector-nonsense'], undefined), undefined, 'only whole flag names');
  for (const f of ['--inspect_wait=127.0.0.1:9333', '--inspect_brk', '--inspect_port=0', '--debug_port=1']) {
    t.equal(inspectorFlag([f], undefined), f, `${f}: node reads _ as - in option names`);
    t.equal(inspectorFlag([], f), f, `${f} in NODE_OPTIONS`);
  }
  t.equal(inspectorFlag(['--max_old_space_size=64'], '--stack_size=900'), undefined, 'underscores in other flags are fine');
});
