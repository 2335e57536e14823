import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecNotifier, childEnvironment, type ExecReloadConfig } from '../../agent/reload/exec.ts';
import { execReloadSchema } from '../../agent/config/reload-schema.ts';
import { forgetSecretValues, registerSecretValue } from '../../agent/log/secret-registry.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const CANARY = 'canary-Exec-Reload-5b1d8e0f44';
const never = new AbortController().signal;
const change = { secrets: ['db', 'cookie'], files: ['/run/secrets/a.env', '/run/secrets/b.conf'] };
const cfg = (raw: Record<string, unknown>): ExecReloadConfig => execReloadSchema.parse({ type: 'exec', ...raw });

function tempDir(t: Test): string {
  const d = mkdtempSync(join(tmpdir(), 'exec-notifier-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function script(dir: string, name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

/** running (a zombie waiting for a reaper counts as dead: it runs no code) */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

t.beforeEach(() => registerSecretValue(CANARY));
t.afterEach(() => forgetSecretValues());

t.test('exit 0 is success; the changed names reach the command', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  const s = script(dir, 'ok.sh', `printf '%s|%s|%s' "$1" "$ERLMCP_SECRETS_CHANGED" "$ERLMCP_SECRETS_CHANGED_FILES" > "${out}"`);
  const o = await new ExecNotifier(cfg({ command: [s, 'arg one'] })).notify(change, never);
  t.same([o.ok, o.detail], [true, 'exit 0']);
  t.equal(readFileSync(out, 'utf8'), 'arg one|db,cookie|/run/secrets/a.env:/run/secrets/b.conf');
  t.ok(o.durationMs >= 0);
});

t.test('non-zero exit fails with a short scrubbed tail of the output', async (t) => {
  const dir = tempDir(t);
  const s = script(dir, 'fail.sh', `i=0; while [ $i -lt 500 ]; do echo "noise line $i"; i=$((i+1)); done; echo "password is ${CANARY}" >&2; echo "reload failed: db pool busy"; exit 3`);
  const o = await new ExecNotifier(cfg({ command: [s] })).notify(change, never);
  t.equal(o.ok, false);
  t.match(o.detail, /^exit 3; output ends: /);
  t.match(o.detail, /reload failed: db pool busy/);
  t.ok(o.detail.length < 260, `detail is short (${o.detail.length} chars)`);
  t.notMatch(o.detail, /noise line 1\b/, 'early output not kept');
  assertNoLeak(t, o.detail, [CANARY]);
});

t.test('timeout kills the whole process group', async (t) => {
  const dir = tempDir(t);
  const pidFile = join(dir, 'grandchild.pid');
  // the script starts a grandchild and waits: both must die
  const s = script(dir, 'hang.sh', `sleep 60 & echo $! > "${pidFile}"; wait`);
  const n = new ExecNotifier(cfg({ command: [s], timeout: '300ms' }));
  const o = await n.notify(change, AbortSignal.timeout(300));
  t.equal(o.ok, false);
  t.match(o.detail, /^timed out after 300 ms; process group killed/);
  const grandchild = Number(readFileSync(pidFile, 'utf8'));
  await new Promise((r) => setTimeout(r, 100));
  t.notOk(alive(grandchild), 'grandchild is gone too');
});

t.test('shutdown cancels a running command', async (t) => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const o = await new ExecNotifier(cfg({ command: ['sleep', '30'] })).notify(change, ac.signal);
  t.same([o.ok, o.detail], [false, 'cancelled (agent shutting down); process group killed']);
});

t.test('missing command and killed command are clear failures', async (t) => {
  const missing = await new ExecNotifier(cfg({ command: ['/nonexistent/reload-erlmcp'] })).notify(change, never);
  t.same([missing.ok, missing.detail], [false, 'run ["/nonexistent/reload-erlmcp"]: command not found']);
  const dir = tempDir(t);
  const s = script(dir, 'selfkill.sh', 'kill -9 $$');
  const killed = await new ExecNotifier(cfg({ command: [s] })).notify(change, never);
  t.same([killed.ok, killed.detail], [false, 'killed by SIGKILL']);
});

t.test('environment: inherited minus secret values and agent credentials, plus config env', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'env');
  const s = script(dir, 'env.sh', `env > "${out}"`);
  const parent = {
    PATH: process.env.PATH,
    HOME: '/home/agent',
    ERLMCP_DB_PASSWORD: CANARY,
    DATABASE_URL: `postgres://u:${CANARY}@db/x`,
    VAULT_TOKEN: 'hvs.not-registered-but-a-credential',
    AWS_SECRET_ACCESS_KEY: 'also-a-credential',
  };
  const o = await new ExecNotifier(cfg({ command: [s], env: { RELOAD_MODE: 'soft' } }), { env: parent }).notify(change, never);
  t.equal(o.ok, true, o.detail);
  const env = readFileSync(out, 'utf8');
  t.match(env, /^HOME=\/home\/agent$/m);
  t.match(env, /^RELOAD_MODE=soft$/m);
  t.notMatch(env, /ERLMCP_DB_PASSWORD|DATABASE_URL|VAULT_TOKEN|AWS_SECRET_ACCESS_KEY/);
  assertNoLeak(t, env, [CANARY]);
  t.same(Object.keys(childEnvironment({ A: 'x', B: undefined })), ['A']);
  t.ok(existsSync(out));
});
