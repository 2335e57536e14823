// Leak: a secret value holding a NUL byte under `exec`. Node's spawn() refuses
// such an environment with a TypeError whose message quotes the whole value
// ("... must be a string without null bytes. Received 'pw\x00...'"), and the
// CLI logged that error in full as an internal error. The registry scrub did
// not catch it: Node prints the NUL as the four characters \x00, a form the
// registry does not know. Now the environment is refused before spawn with an
// error naming the variable and secret.key only.

import t, { type Test } from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv } from '../../agent/exec/child-env.ts';
import { runCli } from '../helpers/cli.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const HEAD = 'CANARYnulHead-Pq7Wm2Zx';
const TAIL = 'CANARYnulTail-Kd4Rt9Yv';
const VALUE = `${HEAD}\0${TAIL}`;
// the forms a message could carry it in: as is, as Node's inspect prints it, JSON-escaped
const FORMS = [HEAD, TAIL, `${HEAD}\\x00${TAIL}`, `${HEAD}\\u0000${TAIL}`];

function setup(t: Test, extra = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'leak-exec-nul-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'secrets/db'), { recursive: true });
  writeFileSync(join(dir, 'secrets/db/password'), VALUE);
  writeFileSync(join(dir, 'secrets/db/user'), 'erlmcp');
  writeFileSync(
    join(dir, 'agent.yaml'),
    `providers: { local: { type: file, path: ./secrets } }
secrets: { db: { provider: local } }
templates: [ { contents: "{{db.user}}", destination: user.txt } ]
output: { root: ./out }
server: { enabled: false }
${extra}`,
  );
  return join(dir, 'agent.yaml');
}

t.test('exec with the default ERLMCP_* mapping: a clear validation error, no part of the value anywhere', async (t) => {
  const cfg = setup(t);
  const run = await runCli(['exec', '-c', cfg, '--log-level', 'debug', '--', process.execPath, '-e', 'process.exit(0)']);
  t.equal(run.code, 3, 'a value that cannot be written is exit 3, not an internal error (1)');
  t.same(run.problems, [
    'exec: ERLMCP_DB_PASSWORD (db.password) holds a NUL character, which an environment variable cannot carry; store the value without it, or base64-encode it',
  ]);
  t.notOk(run.logs.some((l) => l.msg === 'internal error'), 'no internal error logged');
  assertNoLeak(t, [run.stdout, run.stderr], FORMS);
});

t.test('exec with exec.env templates: the variable named, the value not', async (t) => {
  const cfg = setup(t, 'exec: { env: { DB_URL: "postgres://erlmcp:{{db.password}}@db/erlmcp", DB_USER: "{{db.user}}" } }');
  const run = await runCli(['exec', '-c', cfg, '--log-level', 'debug', '--', process.execPath, '-e', 'process.exit(0)']);
  t.equal(run.code, 3);
  t.same(run.problems, [
    'exec: DB_URL (exec.env.DB_URL) holds a NUL character, which an environment variable cannot carry; store the value without it, or base64-encode it',
  ]);
  assertNoLeak(t, [run.stdout, run.stderr], FORMS);
});

t.test('childEnv refuses every variable with a NUL at once, and only what it adds', async (t) => {
  const data = { db: { password: VALUE, other: `x\0${TAIL}`, user: 'erlmcp' } };
  let err: (Error & { code?: string; problems?: string[] }) | undefined;
  try {
    childEnv({ PATH: '/bin' }, undefined, data);
  } catch (e) {
    err = e as typeof err;
  }
  t.equal(err?.code, 'validation');
  t.same(err?.problems, [
    'exec: ERLMCP_DB_PASSWORD (db.password) holds a NUL character, which an environment variable cannot carry; store the value without it, or base64-encode it',
    'exec: ERLMCP_DB_OTHER (db.other) holds a NUL character, which an environment variable cannot carry; store the value without it, or base64-encode it',
  ]);
  assertNoLeak(t, [String(err?.message), String(err?.stack), JSON.stringify(err)], FORMS);
  t.same(childEnv({ PATH: '/bin' }, undefined, { db: { user: 'erlmcp' } }), { PATH: '/bin', ERLMCP_DB_USER: 'erlmcp' }, 'values without NUL pass');
});
