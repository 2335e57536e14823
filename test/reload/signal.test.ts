import t, { type Test } from 'tap';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SignalNotifier, lintSignalReload, type SignalReloadConfig } from '../../agent/reload/signal.ts';
import { findProcessesByName, isBeam, MAX_CMDLINE_BYTES, readProcessInfo } from '../../agent/reload/process-finder.ts';
import { signalReloadSchema } from '../../agent/config/reload-schema.ts';

const NODE = process.execPath;
const change = { secrets: ['db'], files: [] };
const cfg = (raw: Record<string, unknown>): SignalReloadConfig => signalReloadSchema.parse({ type: 'signal', ...raw }) as SignalReloadConfig;
const never = new AbortController().signal;

function tempDir(t: Test): string {
  const d = mkdtempSync(join(tmpdir(), 'signal-notifier-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** a child that records SIGHUP in a file, then exits 0 */
function hupRecorder(t: Test, out: string): ChildProcess {
  const child = spawn(NODE, ['-e', `process.on('SIGHUP', () => { require('fs').writeFileSync(${JSON.stringify(out)}, 'got SIGHUP'); process.exit(0); }); setInterval(() => {}, 1000); process.stdout.write('ready')`], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  return child;
}

const ready = (c: ChildProcess): Promise<void> => new Promise((r) => c.stdout!.once('data', () => r()));
const exited = (c: ChildProcess): Promise<[number | null, NodeJS.Signals | null]> => new Promise((r) => c.once('exit', (code, sig) => r([code, sig])));

/** a fake /proc with one process */
function fakeProc(t: Test, procs: Array<{ pid: number; comm: string; argv: string[]; exe?: string }>): string {
  const root = tempDir(t);
  for (const p of procs) {
    mkdirSync(join(root, String(p.pid)));
    writeFileSync(join(root, String(p.pid), 'comm'), `${p.comm}\n`);
    writeFileSync(join(root, String(p.pid), 'cmdline'), p.argv.join('\0') + '\0');
    if (p.exe) symlinkSync(p.exe, join(root, String(p.pid), 'exe'));
  }
  mkdirSync(join(root, 'self'));
  return root;
}

t.test('pidFile: the process gets the signal', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  const child = hupRecorder(t, out);
  await ready(child);
  writeFileSync(join(dir, 'app.pid'), `${child.pid}\n`);
  const n = new SignalNotifier(cfg({ pidFile: join(dir, 'app.pid') }));
  const done = exited(child);
  const o = await n.notify(change, never);
  t.same([o.ok, o.detail], [true, `sent SIGHUP to pid ${child.pid}`]);
  t.same(await done, [0, null]);
  t.equal(readFileSync(out, 'utf8'), 'got SIGHUP');
});

t.test('processName: finds a real process by its executable name', async (t) => {
  const dir = tempDir(t);
  const name = `esr${randomBytes(4).toString('hex')}`; // unique, under 15 chars
  copyFileSync('/bin/sleep', join(dir, name));
  const { chmodSync } = await import('node:fs');
  chmodSync(join(dir, name), 0o755);
  const child = spawn(join(dir, name), ['60'], { stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise((r) => setTimeout(r, 100));
  const found = await findProcessesByName(name);
  t.same(found.map((p) => p.pid), [child.pid]);
  t.equal(found[0]?.comm, name);
  const done = exited(child);
  const o = await new SignalNotifier(cfg({ processName: name, signal: 'SIGUSR1' })).notify(change, never);
  t.equal(o.ok, true, o.detail);
  t.same(await done, [null, 'SIGUSR1']);
  const none = await new SignalNotifier(cfg({ processName: `${name}x` })).notify(change, never);
  t.same([none.ok, none.detail], [false, `no process named "${name}x" (is shareProcessNamespace: true set on the pod?)`]);
});

t.test('BEAM detection from /proc: exe, comm or argv[0]', async (t) => {
  const root = fakeProc(t, [
    { pid: 10, comm: 'beam.smp', argv: ['/usr/lib/erlang/erts-14/bin/beam.smp', '--', '-root'], exe: '/usr/lib/erlang/erts-14/bin/beam.smp' },
    { pid: 11, comm: '1_scheduler', argv: ['/opt/erlmcp/erts/bin/beam.smp'] },
    { pid: 12, comm: 'nginx', argv: ['nginx: master process'], exe: '/usr/sbin/nginx' },
  ]);
  const infos = await Promise.all([10, 11, 12].map((pid) => readProcessInfo(pid, { root })));
  t.same(infos.map((i) => i && isBeam(i)), [true, true, false]);
  t.equal(await readProcessInfo(99, { root }), undefined);
  t.same((await findProcessesByName('nginx', { root })).map((p) => p.pid), [12]);
  t.same((await findProcessesByName('beam.smp', { root })).map((p) => p.pid), [10, 11]);
});

t.test('another process sizes its own /proc entries: reads stop at a bound and a FIFO does not block', async (t) => {
  const root = fakeProc(t, [{ pid: 20, comm: 'beam.smp', argv: ['beam.smp'] }, { pid: 21, comm: 'x', argv: ['x'] }]);
  // a cmdline of 8 MiB (PR_SET_MM lets a process point its argv anywhere in its memory)
  writeFileSync(join(root, '20', 'cmdline'), '/usr/lib/erlang/bin/beam.smp\0' + 'A'.repeat(8 * 1024 * 1024));
  rmSync(join(root, '21', 'comm'));
  execFileSync('mkfifo', [join(root, '21', 'comm')]);
  const big = await readProcessInfo(20, { root });
  t.equal(big?.argv[0], '/usr/lib/erlang/bin/beam.smp', 'argv[0] is read');
  t.ok(big && big.argv.join('\0').length <= MAX_CMDLINE_BYTES, `no more than ${MAX_CMDLINE_BYTES} bytes of the cmdline kept`);
  t.ok(big && isBeam(big));
  t.equal(await readProcessInfo(21, { root }), undefined, 'a FIFO for comm is no process, and no hang');
  t.same((await findProcessesByName('beam.smp', { root }, [])).map((p) => p.pid), [20]);
});

t.test('refuses to send SIGHUP and friends to a BEAM without beamHandlerInstalled', async (t) => {
  const root = fakeProc(t, [{ pid: 4242, comm: 'beam.smp', argv: ['beam.smp'], exe: '/usr/lib/erlang/erts-14/bin/beam.smp' }]);
  const dir = tempDir(t);
  writeFileSync(join(dir, 'pid'), '4242');
  for (const signal of ['SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGQUIT', 'SIGTERM', 'SIGINT']) {
    const sent: Array<[number, string]> = [];
    const n = new SignalNotifier(cfg({ pidFile: join(dir, 'pid'), signal }), { proc: { root }, kill: (pid, s) => void sent.push([pid, s]) });
    const o = await n.notify(change, never);
    t.equal(o.ok, false, signal);
    t.match(o.detail, new RegExp(`^refused to send ${signal} to pid 4242: it is an Erlang VM`), signal);
    t.same(sent, [], `${signal} not sent`);
  }
  const sent: Array<[number, string]> = [];
  const ok = await new SignalNotifier(cfg({ pidFile: join(dir, 'pid'), beamHandlerInstalled: true }), { proc: { root }, kill: (pid, s) => void sent.push([pid, s]) }).notify(change, never);
  t.equal(ok.ok, true);
  t.same(sent, [[4242, 'SIGHUP']], 'sent once the handler is declared');
  const winch: Array<[number, string]> = [];
  const w = await new SignalNotifier(cfg({ pidFile: join(dir, 'pid'), signal: 'SIGWINCH' }), { proc: { root }, kill: (pid, s) => void winch.push([pid, s]) }).notify(change, never);
  t.equal(w.ok, true, 'SIGWINCH is harmless to a BEAM');
});

t.test('pid file problems are clear failures', async (t) => {
  const dir = tempDir(t);
  const missing = await new SignalNotifier(cfg({ pidFile: join(dir, 'nope.pid') })).notify(change, never);
  t.same([missing.ok, missing.detail], [false, `pid file ${join(dir, 'nope.pid')} does not exist (has the application started?)`]);
  writeFileSync(join(dir, 'bad.pid'), 'hello\n');
  const bad = await new SignalNotifier(cfg({ pidFile: join(dir, 'bad.pid') })).notify(change, never);
  t.match(bad.detail, /does not hold a process id/);
  // a pid that cannot exist (above pid_max)
  writeFileSync(join(dir, 'dead.pid'), '99999999');
  const dead = await new SignalNotifier(cfg({ pidFile: join(dir, 'dead.pid') })).notify(change, never);
  t.same([dead.ok, dead.detail], [false, `pid 99999999 from pid file ${join(dir, 'dead.pid')} is not running`]);
  t.ok(existsSync(join(dir, 'dead.pid')));
});

t.test('EPERM from kill is explained', async (t) => {
  const root = fakeProc(t, [{ pid: 1234, comm: 'app', argv: ['app'] }]);
  const n = new SignalNotifier(cfg({ processName: 'app' }), {
    proc: { root },
    kill: () => {
      throw Object.assign(new Error('kill EPERM'), { code: 'EPERM' });
    },
  });
  const o = await n.notify(change, never);
  t.match(o.detail, /sending SIGHUP to pid 1234 failed: permission denied/);
});

t.test('lintSignalReload warns about BEAM-fatal signals, stop signals and name lookups', async (t) => {
  const hup = lintSignalReload(cfg({ pidFile: '/run/x.pid' }), 'reload[1]');
  t.equal(hup.length, 1);
  t.match(hup[0], /^reload\[1\]: SIGHUP kills or stops an Erlang node/);
  t.same(lintSignalReload(cfg({ pidFile: '/run/x.pid', beamHandlerInstalled: true })), []);
  const term = lintSignalReload(cfg({ pidFile: '/run/x.pid', signal: 'SIGTERM', beamHandlerInstalled: true }));
  t.match(term, [/SIGTERM stops most programs/]);
  const byName = lintSignalReload(cfg({ processName: 'a-very-long-process-name', signal: 'SIGWINCH' }));
  t.match(byName, [/SIGWINCH is ignored by default/, /shareProcessNamespace/, /longer than 15 characters/]);
});
