// End to end with a real Erlang VM: templates/erlang/erlmcp_secrets_reload.erl
// compiled with erlc, installed in a node, reloaded through the sidecar's
// `signal` notifier. Also proves why the notifier guards BEAM targets: an
// Erlang node without the handler dies on SIGHUP.

import t, { type Test } from 'tap';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SignalNotifier, type SignalReloadConfig } from '../../agent/reload/signal.ts';
import { ExecNotifier } from '../../agent/reload/exec.ts';
import { signalReloadSchema, execReloadSchema } from '../../agent/config/reload-schema.ts';
import { runNotifiers } from '../../agent/reload/run-notifiers.ts';
import { forgetSecretValues, registerSecretValue } from '../../agent/log/secret-registry.ts';
import { escapeValue } from '../../agent/render/escape.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const MODULE = resolve(import.meta.dirname, '../../templates/erlang/erlmcp_secrets_reload.erl');
const V1 = 'canary-Beam-First-Value-0a1b2c3d';
const V2 = 'canary-Beam-Second-"quoted"-4e5f6a7b';
const change = { secrets: ['db'], files: [] };
const never = new AbortController().signal;

const dir = mkdtempSync(join(tmpdir(), 'beam-reload-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
execFileSync('erlc', ['-o', dir, MODULE]);

interface Node {
  proc: ChildProcess;
  pid: number;
  output(): string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

/** start `erl -noshell` running `evalExpr`, then write os:getpid() to pidFile */
async function startNode(t: Test, evalExpr: string, pidFile: string): Promise<Node> {
  const proc = spawn('erl', ['-noshell', '-pa', dir, '-eval', `${evalExpr}, ok = file:write_file("${pidFile}", os:getpid()), io:format("ready~n").`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => proc.once('exit', (c, s) => r([c, s])));
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  await waitFor(() => out.includes('ready') || proc.exitCode !== null, 20_000);
  if (!out.includes('ready')) throw new Error(`erl did not start: ${out}`);
  return { proc, pid: Number(readFileSync(pidFile, 'utf8')), output: () => out, exited };
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return cond();
}

function dotenv(value: string): string {
  const e = escapeValue(value, 'dotenv');
  if (!e.ok) throw new Error(e.reason);
  return e.text;
}

const signalCfg = (raw: Record<string, unknown>): SignalReloadConfig => signalReloadSchema.parse({ type: 'signal', ...raw }) as SignalReloadConfig;

t.beforeEach(() => {
  registerSecretValue(V1);
  registerSecretValue(V2);
});
t.afterEach(() => forgetSecretValues());

t.test('SIGHUP through the signal notifier makes the node re-read the rendered env file', async (t) => {
  const envFile = join(dir, 'erlmcp.env');
  const seen = join(dir, 'seen');
  const pidFile = join(dir, 'node1.pid');
  writeFileSync(envFile, `# rendered by erlmcp-secrets\nDB_USER=erlmcp\nDB_PASSWORD="${V1}"\n`);
  // the callback writes what the node now has: the value it was handed and what os:getenv says
  const node = await startNode(
    t,
    `ok = erlmcp_secrets_reload:install(#{env_files => ["${envFile}"], callback => fun(#{env := E}) -> file:write_file("${seen}", [maps:get("DB_PASSWORD", E), "|", os:getenv("DB_PASSWORD"), "|", os:getenv("DB_USER")]) end})`,
    pidFile,
  );
  t.ok(node.pid > 0);
  const notifier = new SignalNotifier(signalCfg({ pidFile, beamHandlerInstalled: true }));
  const { logger, text } = memoryLogger();

  const [first] = await runNotifiers([notifier], change, logger);
  t.same([first?.ok, first?.detail], [true, `sent SIGHUP to pid ${node.pid}`]);
  t.ok(await waitFor(() => existsSync(seen) && readFileSync(seen, 'utf8').startsWith(V1), 10_000), 'node applied the first value');
  t.equal(readFileSync(seen, 'utf8'), `${V1}|${V1}|erlmcp`, 'callback value and os:getenv agree');

  // the sidecar re-renders (with its dotenv escaping: V2 holds quotes) and signals again
  writeFileSync(envFile, `DB_USER=erlmcp\nDB_PASSWORD=${dotenv(V2)}\n`);
  const [second] = await runNotifiers([notifier], change, logger);
  t.equal(second?.ok, true);
  t.ok(await waitFor(() => readFileSync(seen, 'utf8').startsWith(V2), 10_000), 'node applied the second value');
  t.equal(readFileSync(seen, 'utf8'), `${V2}|${V2}|erlmcp`);

  // the file is gone (a failed render never deletes, but an operator might): the node keeps the previous values and stays up
  rmSync(envFile);
  const [third] = await runNotifiers([notifier], change, logger);
  t.equal(third?.ok, true);
  t.ok(await waitFor(() => node.output().includes('kept the previous values'), 10_000), 'node logged the read error');
  t.match(node.output(), /cannot read .*erlmcp\.env: no such file or directory/);
  t.equal(readFileSync(seen, 'utf8'), `${V2}|${V2}|erlmcp`, 'values unchanged');
  t.equal(node.proc.exitCode, null, 'node still running');
  assertNoLeak(t, [node.output(), text()], [V1, V2]);
});

t.test('without beamHandlerInstalled the notifier refuses, and the node survives', async (t) => {
  const pidFile = join(dir, 'node2.pid');
  const node = await startNode(t, 'true', pidFile);
  const o = await new SignalNotifier(signalCfg({ pidFile })).notify(change, never);
  t.equal(o.ok, false);
  t.match(o.detail, new RegExp(`^refused to send SIGHUP to pid ${node.pid}: it is an Erlang VM \\(beam.smp\\)`));
  await new Promise((r) => setTimeout(r, 300));
  t.equal(node.proc.exitCode, null, 'node still running');
  t.equal(node.proc.signalCode, null);

  // and this is what the guard prevents: the same node, SIGHUP sent anyway
  const forced = await new SignalNotifier(signalCfg({ pidFile, beamHandlerInstalled: true })).notify(change, never);
  t.equal(forced.ok, true);
  t.same(await node.exited, [null, 'SIGHUP'], 'a BEAM without the handler dies on SIGHUP');
});

t.test('exec notifier can drive the same reload (erl_call-free: a script that signals the node)', async (t) => {
  const envFile = join(dir, 'exec.env');
  const seen = join(dir, 'exec-seen');
  const pidFile = join(dir, 'node3.pid');
  writeFileSync(envFile, `DB_PASSWORD='${V1}'\n`);
  await startNode(t, `ok = erlmcp_secrets_reload:install(#{env_files => ["${envFile}"], putenv => false, callback => fun(#{env := E}) -> file:write_file("${seen}", maps:get("DB_PASSWORD", E)) end})`, pidFile);
  const script = join(dir, 'reload.sh');
  writeFileSync(script, `#!/bin/sh\nkill -HUP "$(cat "${pidFile}")"\n`, { mode: 0o755 });
  const o = await new ExecNotifier(execReloadSchema.parse({ type: 'exec', command: [script] })).notify(change, never);
  t.same([o.ok, o.detail], [true, 'exit 0']);
  t.ok(await waitFor(() => existsSync(seen) && readFileSync(seen, 'utf8') === V1, 10_000), 'node reloaded from the single-quoted value');
});

t.test('config_files: a sys.config fragment lands in application env; a bad one is reported without its text', async (t) => {
  const cfgFile = join(dir, 'secrets.config');
  const seen = join(dir, 'cfg-seen');
  const pidFile = join(dir, 'node4.pid');
  writeFileSync(cfgFile, `[{erlmcp, [{db_password, <<"${V1}">>}, {pool_size, 4}]}].\n`);
  const node = await startNode(
    t,
    `ok = erlmcp_secrets_reload:install(#{config_files => ["${cfgFile}"], callback => fun(_) -> {ok, P} = application:get_env(erlmcp, db_password), {ok, N} = application:get_env(erlmcp, pool_size), file:write_file("${seen}", [P, "|", integer_to_list(N)]) end})`,
    pidFile,
  );
  const notifier = new SignalNotifier(signalCfg({ pidFile, beamHandlerInstalled: true }));
  t.equal((await notifier.notify(change, never)).ok, true);
  t.ok(await waitFor(() => existsSync(seen) && readFileSync(seen, 'utf8') === `${V1}|4`, 10_000), 'application:get_env sees the new value');

  // an unquoted value breaks the term syntax; the parser would quote the token
  writeFileSync(cfgFile, `[{erlmcp, [{db_password, ${V2.replace(/"/g, '')} }]}].\n`);
  t.equal((await notifier.notify(change, never)).ok, true);
  t.ok(await waitFor(() => node.output().includes('not a valid Erlang term file'), 10_000));
  t.equal(readFileSync(seen, 'utf8'), `${V1}|4`, 'previous values kept');
  assertNoLeak(t, node.output(), [V1, V2.replace(/"/g, '')]);
});

t.test('install/1 refuses bad options; reload_now/0 reloads without a signal; uninstall/0 restores the default', async (t) => {
  const envFile = join(dir, 'api.env');
  writeFileSync(envFile, `API_KEY=${dotenv(V1)}\n`);
  const out = execFileSync(
    'erl',
    [
      '-noshell', '-pa', dir, '-eval',
      `io:format("R:~p~n", [erlmcp_secrets_reload:install(#{})]),
       io:format("R:~p~n", [erlmcp_secrets_reload:install(#{env_files => ["${envFile}"], callback => 42})]),
       io:format("R:~p~n", [erlmcp_secrets_reload:install(nope)]),
       ok = erlmcp_secrets_reload:install(#{env_files => ["${envFile}"], putenv => true}),
       io:format("R:~p~n", [erlmcp_secrets_reload:reload_now()]),
       io:format("R:~p~n", [os:getenv("API_KEY") =:= "${V1}"]),
       ok = erlmcp_secrets_reload:uninstall(),
       io:format("R:~p~n", [lists:member(erlmcp_secrets_reload, gen_event:which_handlers(erl_signal_server))]),
       %% the default logger handler writes from its own process; without a
       %% filesync, halt() can win the race and the notice is never printed
       ok = logger_std_h:filesync(default),
       halt().`,
    ],
    { encoding: 'utf8' },
  );
  const lines = out.split('\n').filter((l) => l.startsWith('R:')).map((l) => l.slice(2));
  t.same(lines.slice(0, 3), ['{error,no_files_given}', '{error,bad_callback}', '{error,opts_must_be_a_map}']);
  t.same(lines.slice(-3), ['ok', 'true', 'false'], 'reload_now applied the file; uninstall removed the handler');
  t.match(out, /applied 1 variables from 1 env files/, 'the node logged the reload');
  assertNoLeak(t, out, [V1]);
});
