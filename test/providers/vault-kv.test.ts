// The vault provider reading KV v1 and v2 from the fake over real HTTP:
// values, versions, namespaces, change checks, and the exact messages for
// missing, deleted and destroyed secrets. Canary values never reach a log
// line or an error message.

import t from 'tap';
import { AgentError } from '../../agent/errors.ts';
import { assertNoCanaries, signal, vaultHarness } from '../fakes/vault/harness.ts';

const CANARY_V1 = 'CANARY-kv1-7f3a9c1e-password';
const CANARY_A = 'CANARY-kv2-a-51d0e7b2';
const CANARY_B = 'CANARY-kv2-b-9e4c2a66';

t.test('KV v2: data.data is the value, metadata.version the version; non-strings become JSON', async (t) => {
  const h = await vaultHarness(t);
  h.vault.putKv('secret/app/db', { password: CANARY_A, port: 5432, tls: true, opts: { pool: 5 }, none: null });
  const p = await h.tokenProvider(['root']);
  const v = await p.fetch({ name: 'db', spec: { path: 'secret/data/app/db' } }, signal());
  t.match(v, { data: { password: CANARY_A, port: '5432', tls: 'true', opts: '{"pool":5}', none: 'null' }, version: '1', createdAt: Number }); // KV v2: the version's created_time comes along
  t.equal(p.describe({ name: 'db', spec: { path: 'secret/data/app/db' } }), `vault secret/data/app/db at ${h.vault.url}`);
  assertNoCanaries(t, [CANARY_A], h.logLines);
});

t.test('KV v2 pinned version reads ?version=N', async (t) => {
  const h = await vaultHarness(t);
  h.vault.putKv('secret/app', { v: CANARY_A });
  h.vault.putKv('secret/app', { v: CANARY_B });
  const p = await h.tokenProvider(['root']);
  const ref = { name: 'app', spec: { path: 'secret/data/app', version: 1 } };
  t.match(await p.fetch(ref, signal()), { data: { v: CANARY_A }, version: '1', createdAt: Number }); // KV v2: the version's created_time comes along
  t.equal(h.vault.requests.at(-1)!.query, '?version=1');
  t.equal(p.describe(ref), `vault secret/data/app (version 1) at ${h.vault.url}`);
});

t.test('KV v1: data as is, no version', async (t) => {
  const h = await vaultHarness(t);
  h.vault.mountKv('kv', 1);
  h.vault.putKv('kv/erlang/cookie', { value: CANARY_V1 });
  const p = await h.tokenProvider(['root']);
  const v = await p.fetch({ name: 'cookie', spec: { path: 'kv/erlang/cookie' } }, signal());
  t.same(v, { data: { value: CANARY_V1 } });
  t.equal(v.lease, undefined, 'the KV v1 lease_duration is not a lease');
});

t.test('missing, soft-deleted and destroyed secrets: code missing, exact messages', async (t) => {
  const h = await vaultHarness(t);
  h.vault.mountKv('kv', 1);
  h.vault.putKv('secret/x', { a: CANARY_A });
  h.vault.putKv('secret/x', { a: CANARY_B });
  h.vault.putKv('secret/x', { a: CANARY_B });
  const p = await h.tokenProvider(['root']);
  const read = (path: string, version?: number) =>
    p.fetch({ name: 'db', spec: version === undefined ? { path } : { path, version } }, signal()).then(
      () => undefined,
      (e: unknown) => e as AgentError,
    );

  const missing = await read('secret/data/nope');
  t.ok(missing instanceof AgentError);
  t.equal(missing!.code, 'missing');
  t.equal(missing!.message, 'vault provider "vault": no secret at secret/data/nope');
  t.equal(missing!.where, 'secrets.db');
  t.equal(missing!.retryable, false);

  t.equal((await read('kv/nope'))!.message, 'vault provider "vault": no secret at kv/nope');
  t.equal(
    (await read('secret/x'))!.message,
    'vault provider "vault": no secret at secret/x: secret/x is on a KV version 2 mount, where reads go through <mount>/data/, e.g. secret/data/x',
  );

  h.vault.advance(90);
  h.vault.deleteKv('secret/x', [3]);
  const deletedAt = new Date(h.vault.now()).toISOString();
  const deleted = await read('secret/data/x');
  t.equal(deleted!.code, 'missing');
  t.equal(deleted!.message, `vault provider "vault": version 3 of secret/data/x was deleted at ${deletedAt}; undelete it or write a new version`);

  h.vault.destroyKv('secret/x', [2]);
  const destroyed = await read('secret/data/x', 2);
  t.equal(destroyed!.code, 'missing');
  t.equal(
    destroyed!.message,
    'vault provider "vault": version 2 of secret/data/x was destroyed and cannot be recovered; write a new version, or pin another version in secrets.db.version',
  );
  t.match(await p.fetch({ name: 'db', spec: { path: 'secret/data/x', version: 1 } }, signal()), { data: { a: CANARY_A }, version: '1', createdAt: Number }); // KV v2: the version's created_time comes along
  t.equal(
    (await read('secret/data/x', 9))!.message,
    'vault provider "vault": no version 9 of secret/data/x: the secret has no such version, or does not exist at all; pin a version it has in secrets.db.version, or remove version to read the latest',
  );

  assertNoCanaries(t, [CANARY_A, CANARY_B], [...h.logLines, missing!.message, deleted!.message, destroyed!.message]);
});

t.test('bad secret specs are config errors', async (t) => {
  const h = await vaultHarness(t);
  const p = await h.tokenProvider(['root']);
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ path: '/secret/data/x' }, 'secrets.db.path: path is the API path without a leading "/" or "v1/", e.g. secret/data/app'],
    [{ path: 'secret/data/x?version=2' }, 'secrets.db.path: path must not contain "?" or empty segments, nor end with "/"'],
    [{ path: 'secret/data/x', version: 0 }, 'secrets.db.version: Too small: expected number to be >0'],
    [{ path: 'secret/data/x', pth: 'x' }, 'secrets.db.pth: unknown key'],
  ];
  for (const [spec, message] of cases) {
    await t.rejects(p.fetch({ name: 'db', spec }, signal()), { code: 'config', message }, JSON.stringify(spec));
  }
});

t.test('namespace: sent as X-Vault-Namespace; the secret is only found there', async (t) => {
  const h = await vaultHarness(t);
  h.vault.mountKv('secret', 2, { namespace: 'team-a' });
  h.vault.putKv('secret/app', { k: CANARY_A }, { namespace: 'team-a' });
  h.vault.setPolicy('reader', { 'secret/data/*': ['read'] }, { namespace: 'team-a' });
  const token = h.vault.createToken({ policies: ['reader'], namespace: 'team-a' });
  const p = await h.provider({ namespace: 'team-a', auth: { method: 'token', tokenFile: h.file('ns-token', token) } });
  t.match(await p.fetch({ name: 'app', spec: { path: 'secret/data/app' } }, signal()), { data: { k: CANARY_A }, version: '1', createdAt: Number }); // KV v2: the version's created_time comes along
  t.ok(h.vault.requests.every((r) => r.namespace === 'team-a'), 'every request carries the namespace');
  t.equal(p.describe({ name: 'app', spec: { path: 'secret/data/app' } }), `vault secret/data/app in namespace "team-a" at ${h.vault.url}`);

  const root = await h.tokenProvider(['root']);
  await t.rejects(root.fetch({ name: 'app', spec: { path: 'secret/data/app' } }, signal()), {
    code: 'missing',
    message: 'vault provider "vault": no secret at secret/data/app',
  }, 'without the namespace the secret is not there');
  h.vault.setPolicy('other', { 'secret/data/other': ['read'] }, { namespace: 'team-a' });
  const limited = await h.provider({ namespace: 'team-a', auth: { method: 'token', tokenFile: h.file('ns-token2', h.vault.createToken({ policies: ['other'], namespace: 'team-a' })) } });
  await t.rejects(limited.fetch({ name: 'app', spec: { path: 'secret/data/app' } }, signal()), {
    code: 'auth',
    message: 'vault provider "vault": permission denied reading secret/data/app in namespace "team-a": the token\'s policies must grant read on it: path "secret/data/app" { capabilities = ["read"] }',
  });
});

t.test('changed(): one metadata call for KV v2, compared with the known version', async (t) => {
  const h = await vaultHarness(t);
  h.vault.putKv('secret/app', { a: CANARY_A });
  h.vault.setPolicy('app', { 'secret/data/app': ['read'], 'secret/metadata/app': ['read'] });
  const p = await h.tokenProvider(['app']);
  const ref = { name: 'app', spec: { path: 'secret/data/app' } };
  const known = await p.fetch(ref, signal());
  const before = h.vault.requests.length;
  t.equal(await p.changed!(ref, known, signal()), false);
  t.same(h.vault.requests.slice(before).map((r) => `${r.method} ${r.path}`), ['GET /v1/secret/metadata/app'], 'exactly one metadata call');

  h.vault.putKv('secret/app', { a: CANARY_B });
  t.equal(await p.changed!(ref, known, signal()), true, 'a new version');
  const latest = await p.fetch(ref, signal());
  t.equal(latest.version, '2');
  t.equal(await p.changed!(ref, latest, signal()), false);
  h.vault.deleteKv('secret/app');
  t.equal(await p.changed!(ref, latest, signal()), true, 'the current version was soft-deleted');
  h.vault.undeleteKv('secret/app', [2]);
  t.equal(await p.changed!(ref, latest, signal()), false);

  const gone = { name: 'gone', spec: { path: 'secret/data/gone' } };
  h.vault.setPolicy('app', { 'secret/data/*': ['read'], 'secret/metadata/*': ['read'] });
  h.vault.putKv('secret/gone', { a: CANARY_A });
  const goneValue = await p.fetch(gone, signal());
  h.vault.putKv('secret/gone', { a: CANARY_A }); // v2
  h.vault.destroyKv('secret/gone', [1, 2]);
  t.equal(await p.changed!(gone, goneValue, signal()), true, 'every version destroyed');
  h.vault.deleteKvMetadata('secret/gone');
  t.equal(await p.changed!(gone, goneValue, signal()), true, 'metadata deleted: 404');
  await t.rejects(p.fetch(gone, signal()), { code: 'missing', message: 'vault provider "vault": no secret at secret/data/gone' });

  const pinned = { name: 'app', spec: { path: 'secret/data/app', version: 1 } };
  const v1 = await p.fetch(pinned, signal());
  t.equal(await p.changed!(pinned, v1, signal()), false, 'a pinned version does not change with new writes');
  h.vault.deleteKv('secret/app', [1]);
  t.equal(await p.changed!(pinned, v1, signal()), true, 'but does when it is deleted');
  assertNoCanaries(t, [CANARY_A, CANARY_B], h.logLines);
});

t.test('changed(): falls back to full reads when the metadata path is denied, and says so once', async (t) => {
  const h = await vaultHarness(t);
  h.vault.putKv('secret/app', { a: CANARY_A });
  h.vault.setPolicy('app', { 'secret/data/app': ['read'] });
  const p = await h.tokenProvider(['app']);
  const ref = { name: 'app', spec: { path: 'secret/data/app' } };
  const known = await p.fetch(ref, signal());
  t.equal(await p.changed!(ref, known, signal()), false);
  t.equal(await p.changed!(ref, known, signal()), false);
  t.equal(h.vault.count('/v1/secret/metadata/app'), 1, 'metadata tried once, then remembered as denied');
  t.equal(h.vault.count('/v1/secret/data/app'), 3);
  h.vault.putKv('secret/app', { a: CANARY_B });
  t.equal(await p.changed!(ref, known, signal()), true);
  const notes = h.logLines.filter((l) => l.includes('may not read secret/metadata/app'));
  t.equal(notes.length, 1);
  assertNoCanaries(t, [CANARY_A, CANARY_B], h.logLines);
});

t.test('changed() on KV v1 compares a fresh read', async (t) => {
  const h = await vaultHarness(t);
  h.vault.mountKv('kv', 1);
  h.vault.putKv('kv/app', { a: CANARY_A });
  const p = await h.tokenProvider(['root']);
  const ref = { name: 'app', spec: { path: 'kv/app' } };
  const known = await p.fetch(ref, signal());
  t.equal(await p.changed!(ref, known, signal()), false);
  h.vault.putKv('kv/app', { a: CANARY_B });
  t.equal(await p.changed!(ref, known, signal()), true);
});
