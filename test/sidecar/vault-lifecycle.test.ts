// The sidecar against the Vault fake on one ManualClock: lease renewal at the
// configured fraction, a capped lease replaced by fresh credentials before it
// expires, the token renewed and then replaced by a new login followed by a
// refetch of the leases the old token held, one fetch per secret per cycle,
// and no re-render or reload when nothing changed.

import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { ROLE_ID, SECRET_ID, T0, vaultSidecar, type VaultSidecar } from '../helpers/vault-sidecar.ts';

const USER_PREFIX = 'canary-User-Hh4T-';
const PW_PREFIX = 'canary-Pw-Vq8Lm2-';
const KV_KEY = 'canary-Kv-Key-Ws5Nx7';

const BODY = `secrets:
  creds: { provider: vault, path: database/creds/app }
  app: { provider: vault, path: secret/data/app }
templates:
  - { contents: "{{creds.username}}:{{creds.password}}", destination: creds.txt }
  - { contents: "user={{creds.username}} key={{app.key}}", destination: app.txt }
refresh: { interval: 20s, jitter: 0, wait: { min: 0s } }
`;

function noLeaks(t: Test, f: VaultSidecar): void {
  const logs = f.logs();
  assertNoLeak(t, logs, [KV_KEY, ROLE_ID, SECRET_ID, PW_PREFIX]);
  const creds = f.store.get('creds')?.value.data.password ?? '';
  assertNoLeak(t, logs, [creds]);
  t.notMatch(logs, /\[REDACTED\]/, 'nothing needed scrubbing');
}


const CREDS = '/v1/database/creds/app';

t.test('leases: renewed at the fraction, capped -> fresh credentials rendered before expiry; nothing changed -> no render, no reload', async (t) => {
  const f = await vaultSidecar(t, {
    body: BODY,
    arrange(vault) {
      vault.addAppRole('agent', { roleId: ROLE_ID, secretIds: [SECRET_ID], policies: ['agent'], ttl: 3600, maxTtl: 7200 });
      vault.addDatabaseRole('app', { ttl: 30, maxTtl: 75, usernamePrefix: USER_PREFIX, passwordPrefix: PW_PREFIX });
      vault.putKv('secret/app', { key: KV_KEY });
    },
  });
  const credsFile = join(f.dir, 'out/creds.txt');
  const first = readFileSync(credsFile, 'utf8');
  t.match(first, new RegExp(`^${USER_PREFIX}.*:${PW_PREFIX}`));
  // 2/3 of 30 s, pulled earlier by 15% (rand 0.5): 17 s
  t.same(f.sidecar.loop.nextCheck('creds'), { at: T0 + 17_000, kind: 'leased' });

  await f.advance(16_500);
  t.equal(f.vault.count('/v1/sys/leases/renew', 'PUT'), 0, 'no renewal before the fraction');
  await f.advance(1000);
  t.equal(f.vault.count('/v1/sys/leases/renew', 'PUT'), 1, 'renewed at 17 s');
  t.equal(f.vault.count(CREDS), 1, 'renewing is not reading: no new credentials');

  // renewals at 17, 34, 51 s (the last capped: 24 s left of max TTL), static checks every 20 s
  await f.advance(70_000 - 17_500);
  t.equal(f.vault.count('/v1/sys/leases/renew', 'PUT'), 3);
  t.equal(f.vault.count(CREDS), 1, 'still the first credentials');
  t.equal(f.vault.count('/v1/secret/metadata/app'), 3, 'static secret: cheap checks at 20, 40, 60 s');
  t.equal(f.vault.count('/v1/secret/data/app'), 1, 'no full read when the version did not change');
  t.same(f.notified, [], 'no reload while nothing changed');
  t.equal(await f.metric(`erlmcp_secrets_renders_total{destination="${credsFile}",result="written"}`), undefined, 'no re-render');
  t.equal(readFileSync(credsFile, 'utf8'), first);
  t.equal(await f.metric('erlmcp_secrets_lease_renewals_total{secret="creds",outcome="renewed"}'), 2);
  t.equal(await f.metric('erlmcp_secrets_lease_renewals_total{secret="creds",outcome="capped"}'), 1);

  // capped at 51 s with 24 s left: refetch at 85% of that, 71.4 s
  await f.advance(3000);
  t.equal(f.vault.count(CREDS), 2, 'fresh credentials after the capped renewal');
  const second = readFileSync(credsFile, 'utf8');
  t.not(second, first, 'the file holds the new credentials');
  t.match(second, new RegExp(`^${USER_PREFIX}.*:${PW_PREFIX}`));
  t.equal(f.notified.length, 1, 'one reload for the new credentials');
  t.same(f.notified[0]!.change, { secrets: ['creds'], files: [credsFile, join(f.dir, 'out/app.txt')], pending: [] }, 'both templates use creds: one batch, template order');
  t.ok(f.notified[0]!.at < T0 + 75_000, 're-rendered and reloaded before the old lease expired');
  t.equal(await f.metric('erlmcp_secrets_lease_renewals_total{secret="creds",outcome="refetched"}'), 1);
  const expiry = await f.metric('erlmcp_secrets_expiry_seconds{kind="lease",name="creds"}');
  t.ok(expiry !== undefined && expiry > 20, `the new lease has its full TTL ahead (${expiry} s)`);
  noLeaks(t, f);
});

t.test('token: renew-self before expiry, re-login when renewal stops extending, then one refetch per leased secret before the old token dies', async (t) => {
  const f = await vaultSidecar(t, {
    body: BODY,
    arrange(vault) {
      vault.addAppRole('agent', { roleId: ROLE_ID, secretIds: [SECRET_ID], policies: ['agent'], ttl: 60, maxTtl: 100 });
      vault.addDatabaseRole('app', { ttl: 3600, maxTtl: 7200, usernamePrefix: USER_PREFIX, passwordPrefix: PW_PREFIX });
      vault.putKv('secret/app', { key: KV_KEY });
    },
  });
  const LOGIN = '/v1/auth/approle/login';
  const RENEW_SELF = '/v1/auth/token/renew-self';
  const credsFile = join(f.dir, 'out/creds.txt');
  const first = readFileSync(credsFile, 'utf8');
  const firstLease = f.store.get('creds')!.value.lease!.id;
  const firstToken = f.vault.leases().find((l) => l.id === firstLease)!.tokenId!;
  t.equal(f.vault.count(LOGIN), 1, 'one login at init');
  t.equal(await f.metric('erlmcp_secrets_expiry_seconds{kind="token",name="vault"}'), 60, 'seconds until the token expires');

  // 2/3 of 60 s less 15%: 34 s
  await f.advance(33_500);
  t.equal(f.vault.count(RENEW_SELF), 0);
  await f.advance(1000);
  t.equal(f.vault.count(RENEW_SELF), 1, 'renew-self at 34 s');
  // at 68 s the renewal is capped by the max TTL (32 s left): a new login at 85% of that, 95.2 s
  await f.advance(69_000 - 34_500);
  t.equal(f.vault.count(RENEW_SELF), 2);
  t.equal(f.vault.count(LOGIN), 1, 'no login while renewal still extends the token');
  t.equal(f.vault.count(CREDS), 1);
  await f.advance(95_000 - 69_000);
  t.equal(f.vault.count(LOGIN), 1, 'not yet');
  t.same(f.notified, [], 'renewals changed nothing: no reload');
  await f.advance(1000);
  t.equal(f.vault.count(LOGIN), 2, 'logged in again before the old token expired');
  t.equal(f.vault.count(CREDS), 2, 'the old token\'s lease refetched: one fetch although two templates use it');
  t.equal(f.vault.count('/v1/secret/data/app'), 1, 'the KV secret holds no lease: not refetched');
  const secondLease = f.store.get('creds')!.value.lease!.id;
  const lease = f.vault.leases().find((l) => l.id === secondLease)!;
  t.not(lease.tokenId, firstToken, 'the new lease belongs to the new token');
  t.not(readFileSync(credsFile, 'utf8'), first, 'new credentials rendered');
  t.equal(f.notified.length, 1);
  t.ok(f.notified[0]!.at < T0 + 100_000, 'before the old token (and its leases) expire');
  const tokenExpiry = await f.metric('erlmcp_secrets_expiry_seconds{kind="token",name="vault"}');
  t.ok(tokenExpiry !== undefined && tokenExpiry > 55, `token expiry metric follows the new token (${tokenExpiry} s)`);

  // the old token runs out at 100 s: its lease dies, ours lives on, nothing is refetched again
  await f.advance(10_000);
  t.equal(f.vault.token(firstToken)?.expireAt !== undefined && f.vault.token(firstToken)!.expireAt! <= f.clock.now(), true, 'old token expired');
  t.equal(f.vault.runExpiration().includes(secondLease), false, 'the current lease is not revoked');
  t.equal(f.vault.count(CREDS), 2, 'one fetch per secret per cycle: no second refetch');
  t.equal(f.vault.count(LOGIN), 2);
  t.match(f.logs(), /provider logged in again/);
  noLeaks(t, f);
});
