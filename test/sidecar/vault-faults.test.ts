// The backend goes away for several cycles (503 sealed, 429 rate limited,
// connection refused): the files keep their last good content, retries back
// off (the first retry full jitter over 10 s, then up to 5 min), /readyz names
// the secret as stale once its data is older than its TTL (still ready: a
// static value stays valid; /readyz?fresh turns 503), and everything recovers
// by itself when Vault returns.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTcpGate } from '../fakes/tcp-gate.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { ROLE_ID, SECRET_ID, vaultSidecar } from '../helpers/vault-sidecar.ts';

const KEY1 = 'canary-Fault-Key-One-Pp3R';
const KEY2 = 'canary-Fault-Key-Two-Jj8W';
const DATA = '/v1/secret/data/app';
const META = '/v1/secret/metadata/app';

t.test('503, 429 and connection refused for minutes: last good files, stale named in /readyz, recovery without help', async (t) => {
  let gate: Awaited<ReturnType<typeof startTcpGate>> | undefined;
  const f = await vaultSidecar(t, {
    address: async (vault) => {
      gate = await startTcpGate({ host: '127.0.0.1', port: Number(new URL(vault.url).port) });
      return gate.url;
    },
    body: `secrets:
  app: { provider: vault, path: secret/data/app, ttl: 45s }
templates:
  - { contents: "key={{app.key}}", destination: app.txt }
refresh: { interval: 10s, jitter: 0, backoff: { initial: 10s, max: 5m } }
`,
    arrange(vault) {
      vault.addAppRole('agent', { roleId: ROLE_ID, secretIds: [SECRET_ID], policies: ['agent'], ttl: 86_400, maxTtl: 172_800 });
      vault.putKv('secret/app', { key: KEY1 });
    },
  });
  t.teardown(() => gate?.close());
  const file = join(f.dir, 'out/app.txt');
  t.equal(readFileSync(file, 'utf8'), `key=${KEY1}`);
  t.equal((await f.readyz()).status, 200);

  // sealed (503) for two checks
  f.vault.setMode('sealed');
  await f.advance(10_000);
  t.equal(f.vault.requests.filter((r) => r.path === META && r.status === 503).length, 1, 'first failed check at 10 s');
  t.equal(f.sidecar.loop.nextCheck('app')?.at, f.clock.now() + 5_000, 'first retry: full jitter over the initial 10 s backoff (rand 0.5)');
  await f.advance(10_000);
  t.equal(f.vault.requests.filter((r) => r.path === META && r.status === 503).length, 2);
  t.equal(readFileSync(file, 'utf8'), `key=${KEY1}`, 'sealed: the file keeps its last good content');
  t.equal((await f.readyz()).status, 200, 'still inside the 45 s TTL');

  // rate limited (429)
  f.vault.setMode('rate-limited');
  f.vault.putKv('secret/app', { key: KEY2 }); // the change waits for the backend to come back
  const before429 = f.vault.requests.length;
  await f.advance(30_000);
  t.ok(f.vault.requests.slice(before429).some((r) => r.status === 429), 'answered 429');
  const stale = await f.readyz();
  t.equal(stale.status, 200, 'data older than its TTL, but a static value stays valid: ready (docs/fleet.md)');
  t.equal((await f.readyz('fresh')).status, 503, '/readyz?fresh: not fresh');
  t.same(stale.body.stale.map((s) => [s.secret, s.lastError]), [['app', 'unavailable']], 'names the stale secret and why');
  t.equal(readFileSync(file, 'utf8'), `key=${KEY1}`, 'rate limited: the file keeps its last good content');

  // gone (connection refused)
  f.vault.setMode('active');
  await gate!.down();
  const beforeDown = f.vault.requests.length;
  await f.advance(120_000);
  t.equal(f.vault.requests.length, beforeDown, 'nothing reaches Vault while the connection is refused');
  t.equal(readFileSync(file, 'utf8'), `key=${KEY1}`, 'unreachable: never blanked or deleted');
  t.equal((await f.readyz('fresh')).status, 503);
  const failures = await f.metric('erlmcp_secrets_stale_secrets');
  t.equal(failures, 1, 'staleness in metrics');
  const errors = (await f.sidecar.metrics.text()).match(/erlmcp_secrets_fetch_errors_total\{[^}]*code="unavailable"[^}]*\} (\d+)/);
  t.ok(errors && Number(errors[1]) >= 4, `fetch errors counted (${errors?.[1]})`);
  // backoff grows: far fewer attempts than one per 10 s interval over 3 minutes
  const attempts = f.logs().split('\n').filter((l) => l.includes('secret refresh failed')).length;
  t.ok(attempts >= 4 && attempts <= 12, `backed off: ${attempts} failed attempts in 180 s`);

  // back: recovers by itself within the 5 min backoff cap
  await gate!.up();
  await f.advance(300_000, 1000);
  t.equal(readFileSync(file, 'utf8'), `key=${KEY2}`, 'the change made meanwhile is rendered');
  const ready = await f.readyz();
  t.equal(ready.status, 200, 'ready again');
  t.same(ready.body.stale, []);
  t.equal(f.notified.length, 1, 'one reload, for the one change');
  assertNoLeak(t, f.logs(), [KEY1, KEY2, ROLE_ID, SECRET_ID]);
});
