// Dynamic (leased) secrets through the vault provider: lease fields, renew
// with Vault's max-TTL capping, renewal refused once the lease is gone,
// revoke, and no re-reads of leased secrets by changed().

import t from 'tap';
import type { AgentError } from '../../agent/errors.ts';
import { assertNoCanaries, signal, vaultHarness } from '../fakes/vault/harness.ts';

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as AgentError);
const ref = { name: 'dbcreds', spec: { path: 'database/creds/erlmcp' } };

t.test('database creds: fresh values per fetch, lease fields', async (t) => {
  const h = await vaultHarness(t);
  h.vault.addDatabaseRole('erlmcp', { ttl: 3600, maxTtl: 5400, passwordPrefix: 'CANARY-dbpw-', usernamePrefix: 'CANARY-dbuser-' });
  h.vault.setPolicy('db', { 'database/creds/erlmcp': ['read'] });
  const p = await h.tokenProvider(['db']);
  const a = await p.fetch(ref, signal());
  const b = await p.fetch(ref, signal());
  t.match(a.data, { username: /^CANARY-dbuser-erlmcp-/, password: /^CANARY-dbpw-/ });
  t.same(Object.keys(a.data).sort(), ['password', 'username']);
  t.not(a.data.password, b.data.password);
  t.equal(a.version, undefined);
  t.match(a.lease, { id: /^database\/creds\/erlmcp\//, ttlSeconds: 3600, renewable: true, obtainedAt: h.vault.now() });
  t.not(a.lease!.id, b.lease!.id);

  const before = h.vault.requests.length;
  t.equal(await p.changed!(ref, a, signal()), false, 'a leased secret is renewed, never re-read to check for changes');
  t.equal(h.vault.requests.length, before);
  assertNoCanaries(t, ['CANARY-dbpw-', 'CANARY-dbuser-', a.data.password!, b.data.password!], h.logLines);
});

t.test('renew: asks for the original TTL; Vault caps it at the max TTL', async (t) => {
  const h = await vaultHarness(t);
  h.vault.addDatabaseRole('erlmcp', { ttl: 3600, maxTtl: 5400 });
  const p = await h.tokenProvider(['root']);
  const v = await p.fetch(ref, signal());
  h.vault.advance(2400);
  const r1 = await p.renew!(ref, v, signal());
  t.same(r1.lease, { id: v.lease!.id, ttlSeconds: 3000, renewable: true, obtainedAt: h.vault.now() }, '5400 - 2400 = 3000 left of the max TTL');
  t.same(r1.data, v.data, 'the values stay');
  h.vault.advance(2000);
  const r2 = await p.renew!(ref, r1, signal());
  t.equal(r2.lease!.ttlSeconds, 1000);
  t.equal(h.vault.count('/v1/sys/leases/renew', 'PUT'), 2);

  const kv = { data: { a: 'b' }, version: '1' };
  t.equal(await p.renew!({ name: 'kv', spec: { path: 'secret/data/x' } }, kv, signal()), kv, 'no lease: nothing to renew');
});

t.test('renew refused: expired, revoked or unknown leases are missing, with Vault\'s reason', async (t) => {
  const h = await vaultHarness(t);
  h.vault.addDatabaseRole('erlmcp', { ttl: 60, maxTtl: 600 });
  const p = await h.tokenProvider(['root']);
  const v = await p.fetch(ref, signal());
  h.vault.advance(61);
  const expired = await failure(p.renew!(ref, v, signal()));
  t.equal(expired!.code, 'missing');
  t.equal(expired!.retryable, false);
  t.equal(
    expired!.message,
    `vault provider "vault": lease ${v.lease!.id} can no longer be renewed (Vault: lease expired): the credentials were revoked or have expired; fetch new ones`,
  );
  t.equal(expired!.where, 'secrets.dbcreds');

  const w = await p.fetch(ref, signal());
  h.vault.runExpiration();
  await p.revoke!(w);
  const gone = await failure(p.renew!(ref, w, signal()));
  t.equal(gone!.message, `vault provider "vault": lease ${w.lease!.id} can no longer be renewed (Vault: lease not found): the credentials were revoked or have expired; fetch new ones`);
});

t.test('revoke gives the lease back; without a grant on sys/leases/revoke it says what to add', async (t) => {
  const h = await vaultHarness(t);
  h.vault.addDatabaseRole('erlmcp', { ttl: 600, maxTtl: 6000 });
  h.vault.setPolicy('db', { 'database/creds/erlmcp': ['read'] });
  const p = await h.tokenProvider(['db']);
  const v = await p.fetch(ref, signal());
  const denied = await failure(p.revoke!(v));
  t.equal(denied!.code, 'auth');
  t.equal(
    denied!.message,
    `vault provider "vault": permission denied revoking lease ${v.lease!.id}: the token's policies must grant update on it: path "sys/leases/revoke" { capabilities = ["update"] }`,
  );
  t.equal(denied!.where, 'secrets.dbcreds');

  h.vault.setPolicy('db', { 'database/creds/erlmcp': ['read'], 'sys/leases/revoke': ['update'] });
  await p.revoke!(v);
  t.ok(h.vault.leases().find((l) => l.id === v.lease!.id)!.revoked);
  await p.revoke!({ data: {} });
  t.equal(h.vault.count('/v1/sys/leases/revoke'), 2, 'a value without a lease sends nothing');
});
