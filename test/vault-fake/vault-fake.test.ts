// Checks the Vault fake itself against the Vault HTTP API docs: status codes,
// body shapes and error texts, over real HTTP(S) with fetch.

import t from 'tap';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { startVaultFake, type VaultFake } from '../fakes/vault/index.ts';
import { makeTestPki } from '../fakes/vault/certs.ts';

interface Call {
  status: number;
  body: any;
  headers: Headers;
}

function client(vault: VaultFake) {
  return async (method: string, path: string, opts: { token?: string | null; ns?: string; body?: unknown; raw?: string } = {}): Promise<Call> => {
    const headers: Record<string, string> = {};
    const token = opts.token === undefined ? vault.rootToken : opts.token;
    if (token !== null) headers['X-Vault-Token'] = token;
    if (opts.ns) headers['X-Vault-Namespace'] = opts.ns;
    const init: RequestInit = { method, headers };
    if (opts.raw !== undefined) init.body = opts.raw;
    else if (opts.body !== undefined) init.body = JSON.stringify(opts.body);
    const res = await fetch(`${vault.url}/v1/${path}`, init);
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
  };
}

const DENIED = { errors: ['1 error occurred:\n\t* permission denied\n\n'] };
const BAD_TOKEN = { errors: ['permission denied'] };

t.test('KV v2: write, read, versions, metadata', async (t) => {
  const vault = await startVaultFake();
  t.teardown(() => vault.close());
  const call = client(vault);

  const w1 = await call('POST', 'secret/data/app/db', { body: { data: { password: 'v1-pass' } } });
  t.equal(w1.status, 200);
  t.match(w1.body.data, { version: 1, destroyed: false, deletion_time: '' });
  t.type(w1.body.data.created_time, 'string');
  const w2 = await call('PUT', 'secret/data/app/db', { body: { data: { password: 'v2-pass' }, options: { cas: 1 } } });
  t.equal(w2.body.data.version, 2);

  const latest = await call('GET', 'secret/data/app/db');
  t.equal(latest.status, 200);
  t.same(latest.body.data.data, { password: 'v2-pass' });
  t.equal(latest.body.data.metadata.version, 2);
  t.equal(latest.body.lease_id, '');
  t.equal(latest.body.warnings, null);

  const v1 = await call('GET', 'secret/data/app/db?version=1');
  t.same(v1.body.data.data, { password: 'v1-pass' });
  t.equal(v1.body.data.metadata.version, 1);

  const meta = await call('GET', 'secret/metadata/app/db');
  t.equal(meta.status, 200);
  t.equal(meta.body.data.current_version, 2);
  t.same(Object.keys(meta.body.data.versions), ['1', '2']);
  t.match(meta.body.data.versions['1'], { deletion_time: '', destroyed: false });

  t.same((await call('GET', 'secret/data/app/db?version=9')).body, { errors: [] }, 'a version never written is a plain 404');
  const missing = await call('GET', 'secret/data/nothing/here');
  t.equal(missing.status, 404);
  t.same(missing.body, { errors: [] });
  t.same((await call('GET', 'secret/metadata/nothing')).body, { errors: [] });

  const cas = await call('POST', 'secret/data/app/db', { body: { data: { x: '1' }, options: { cas: 1 } } });
  t.equal(cas.status, 400);
  t.same(cas.body, { errors: ['check-and-set parameter did not match the current version'] });
  const noData = await call('POST', 'secret/data/app/db', { body: { options: {} } });
  t.same([noData.status, noData.body], [400, { errors: ['no data provided'] }]);

  const v1style = await call('GET', 'secret/app/db');
  t.equal(v1style.status, 404, 'a KV v1 style path on a v2 mount');
  t.same(v1style.body.errors, []);
  t.match(v1style.body.warnings[0], /Invalid path for a versioned K\/V secrets engine/);

  // node:http cannot parse the LIST verb, so the fake offers Vault's ?list=true form only
  const list = await call('GET', 'secret/metadata/app?list=true');
  t.same(list.body.data.keys, ['db']);
  const listGet = await call('GET', 'secret/metadata/?list=true');
  t.same(listGet.body.data.keys, ['app/']);
});

t.test('KV v2 soft delete, undelete, destroy: 404 with the data envelope and no errors key', async (t) => {
  const vault = await startVaultFake();
  t.teardown(() => vault.close());
  const call = client(vault);
  vault.putKv('secret/app', { a: '1' });
  vault.putKv('secret/app', { a: '2' });
  vault.putKv('secret/app', { a: '3' });
  vault.advance(60);

  t.equal((await call('DELETE', 'secret/data/app')).status, 204, 'DELETE data/ soft-deletes the latest');
  const deleted = await call('GET', 'secret/data/app');
  t.equal(deleted.status, 404);
  t.notOk('errors' in deleted.body, 'no errors key');
  t.equal(deleted.body.data.data, null);
  t.equal(deleted.body.data.metadata.version, 3);
  t.equal(deleted.body.data.metadata.deletion_time, new Date(vault.now()).toISOString());
  t.equal(deleted.body.data.metadata.destroyed, false);
  t.equal((await call('GET', 'secret/data/app?version=2')).status, 200, 'older versions stay readable');

  const badVersions = await call('POST', 'secret/undelete/app', { body: {} });
  t.same([badVersions.status, badVersions.body], [400, { errors: ['no version number provided'] }]);
  t.equal((await call('POST', 'secret/undelete/app', { body: { versions: [3] } })).status, 204);
  t.same((await call('GET', 'secret/data/app')).body.data.data, { a: '3' });

  t.equal((await call('PUT', 'secret/destroy/app', { body: { versions: [3] } })).status, 204);
  const destroyed = await call('GET', 'secret/data/app');
  t.equal(destroyed.status, 404);
  t.notOk('errors' in destroyed.body);
  t.match(destroyed.body.data, { data: null, metadata: { destroyed: true, deletion_time: '', version: 3 } });
  t.equal((await call('POST', 'secret/undelete/app', { body: { versions: [3] } })).status, 204);
  t.equal((await call('GET', 'secret/data/app')).status, 404, 'a destroyed version cannot be undeleted');

  t.equal((await call('POST', 'secret/delete/app', { body: { versions: [1] } })).status, 204);
  t.equal((await call('GET', 'secret/metadata/app')).body.data.versions['1'].deletion_time, new Date(vault.now()).toISOString());
  t.equal((await call('DELETE', 'secret/metadata/app')).status, 204);
  t.same((await call('GET', 'secret/data/app?version=2')).body, { errors: [] }, 'metadata delete removes everything');
});

t.test('KV v1 mount', async (t) => {
  const vault = await startVaultFake();
  t.teardown(() => vault.close());
  vault.mountKv('kv', 1);
  const call = client(vault);
  const put = await call('PUT', 'kv/app/cookie', { body: { value: 'abc', n: 3 } });
  t.equal(put.status, 204);
  t.equal(put.body, undefined);
  const got = await call('GET', 'kv/app/cookie');
  t.same(got.body.data, { value: 'abc', n: 3 });
  t.equal(got.body.lease_duration, 2764800);
  t.equal((await call('DELETE', 'kv/app/cookie')).status, 204);
  t.same(await call('GET', 'kv/app/cookie').then((r) => [r.status, r.body]), [404, { errors: [] }]);
  t.same((await call('PATCH', 'kv/app/cookie', { body: {} })).body, { errors: ['1 error occurred:\n\t* unsupported operation\n\n'] });
  t.equal((await call('PATCH', 'kv/app/cookie', { body: {} })).status, 405);
});

t.test('tokens: missing, wrong, denied by policy, allowed', async (t) => {
  const vault = await startVaultFake();
  t.teardown(() => vault.close());
  const call = client(vault);
  vault.putKv('secret/app', { a: '1' });
  vault.putKv('secret/other', { a: '2' });
  vault.setPolicy('app', { 'secret/data/app': ['read'], 'secret/metadata/+': ['read'] });
  const token = vault.createToken({ policies: ['app'], ttl: 600 });

  t.same(await call('GET', 'secret/data/app', { token: null }).then((r) => [r.status, r.body]), [403, BAD_TOKEN]);
  t.same(await call('GET', 'secret/data/app', { token: 'hvs.nonsense' }).then((r) => [r.status, r.body]), [403, BAD_TOKEN]);
  t.equal((await call('GET', 'secret/data/app', { token })).status, 200);
  t.equal((await call('GET', 'secret/metadata/other', { token })).status, 200, '+ matches one segment');
  t.same(await call('GET', 'secret/data/other', { token }).then((r) => [r.status, r.body]), [403, DENIED]);
  t.same(await call('POST', 'secret/data/app', { token, body: { data: {} } }).then((r) => [r.status, r.body]), [403, DENIED], 'read does not allow update');
  t.same(await call('GET', 'nomount/x', { token }).then((r) => r.status), 403, 'ACL is checked before routing');
  t.same((await call('GET', 'nomount/x')).body, { errors: ['no handler for route "nomount/x". route entry not found.'] });

  vault.setPolicy('deny', { 'secret/*': ['read'], 'secret/data/app': ['deny'] });
  const denied = vault.createToken({ policies: ['deny'] });
  t.equal((await call('GET', 'secret/data/app', { token: denied })).status, 403, 'deny wins');
  t.equal((await call('GET', 'secret/data/other', { token: denied })).status, 200, 'glob * prefix');
});

t.test('token lookup-self, renew-self with max TTL capping, expiry and revocation', async (t) => {
  const vault = await startVaultFake();
  t.teardown(() => vault.close());
  const call = client(vault);
  const token = vault.createToken({ policies: ['app'], ttl: 3600, maxTtl: 5400 });

  const look = await call('GET', 'auth/token/lookup-self', { token });
  t.equal(look.status, 200);
  t.match(look.body.data, { id: token, ttl: 3600, creation_ttl: 3600, renewable: true, policies: ['default', 'app'], type: 'service' });
  t.equal(look.body.data.expire_time, new Date(vault.now() + 3600_000).toISOString());

  vault.advance(1800);
  t.equal((await call('GET', 'auth/token/lookup-self', { token })).body.data.ttl, 1800);
  const r1 = await call('POST', 'auth/token/renew-self', { token, body: { increment: '1h' } });
  t.equal(r1.status, 200);
  t.match(r1.body.auth, { client_token: token, lease_duration: 3600, renewable: true, policies: ['default', 'app'] });
  t.equal(r1.body.warnings, null);

  vault.advance(1800); // 3600s since issue; 1800s of max TTL left
  const r2 = await call('PUT', 'auth/token/renew-self', { token, body: { increment: 3600 } });
  t.equal(r2.body.auth.lease_duration, 1800, 'capped at the remaining max TTL');
  t.same(r2.body.warnings, ['TTL of "1h0m0s" exceeded the effective max_ttl of "30m0s"; TTL value is capped accordingly']);

  vault.advance(1800);
  t.same(await call('GET', 'auth/token/lookup-self', { token }).then((r) => [r.status, r.body]), [403, BAD_TOKEN], 'expired token');
  t.same(await call('POST', 'auth/token/renew-self', { token, body: {} }).then((r) => [r.status, r.body]), [403, BAD_TOKEN]);

  const fixed = vault.createToken({ policies: ['app'], ttl: 600, renewable: false });
  t.same(await call('POST', 'auth/token/renew-self', { token: fixed, body: {} }).then((r) => [r.status, r.body]), [400, { errors: ['lease is not renewable'] }]);

  const revoked = vault.createToken({ policies: ['app'] });
  vault.revokeToken(revoked);
  t.equal((await call('GET', 'auth/token/lookup-self', { token: revoked })).status, 403);
});

t.test('auth/token/create makes children that die with their parent', async (t) => {
  const vault = await startVaultFake();
  t.teardown(() => vault.close());
  const call = client(vault);
  vault.setPolicy('app', { 'secret/*': ['read'] });
  const created = await call('POST', 'auth/token/create', { body: { policies: ['app'], ttl: '30m', explicit_max_ttl: '1h' } });
  t.equal(created.status, 200);
  t.match(created.body.auth, { lease_duration: 1800, renewable: true, policies: ['default', 'app'], token_type: 'service', orphan: false });
  const parent = created.body.auth.client_token as string;
  const child = await call('POST', 'auth/token/create', { token: parent, body: { policies: ['app'] } });
  t.equal(child.status, 403, 'the default policy does not allow auth/token/create');
  vault.setPolicy('app', { 'secret/*': ['read'], 'auth/token/create': ['update'] });
  const child2 = await call('POST', 'auth/token/create', { token: parent, body: { policies: ['app'], ttl: 60 } });
  t.equal(child2.status, 200);
  const escalate = await call('POST', 'auth/token/create', { token: parent, body: { policies: ['admin'] } });
  t.same([escalate.status, escalate.body], [400, { errors: ['child policies must be subset of parent'] }]);
  vault.revokeToken(parent);
  t.equal((await call('GET', 'auth/token/lookup-self', { token: child2.body.auth.client_token })).status, 403);
});

t.test('namespaces: a secret in ns1 is only visible with X-Vault-Namespace: ns1', async (t) => {
  const vault = await startVaultFake();
  t.teardown(() => vault.close());
  const call = client(vault);
  vault.mountKv('secret', 2, { namespace: 'ns1' });
  vault.putKv('secret/app', { where: 'ns1' }, { namespace: 'ns1' });
  t.equal((await call('GET', 'secret/data/app', { ns: 'ns1' })).body.data.data.where, 'ns1');
  t.equal((await call('GET', 'secret/data/app', { ns: 'ns1/' })).status, 200, 'trailing slash is ignored');
  t.same((await call('GET', 'secret/data/app')).body, { errors: [] }, 'not in the root namespace');
  t.equal((await call('GET', 'secret/data/app', { ns: 'ns2' })).status, 404);

  // a token from ns1 cannot be used in the root namespace; its policies are relative to ns1
  vault.setPolicy('reader', { 'secret/data/*': ['read'] }, { namespace: 'ns1' });
  const nsToken = vault.createToken({ policies: ['reader'], namespace: 'ns1' });
  t.equal((await call('GET', 'secret/data/app', { ns: 'ns1', token: nsToken })).status, 200);
  t.equal((await call('GET', 'secret/data/app', { token: nsToken })).status, 403);
  // a root-namespace token's policy names the namespace in the path
  vault.setPolicy('cross', { 'ns1/secret/data/app': ['read'] });
  const rootNsToken = vault.createToken({ policies: ['cross'] });
  t.equal((await call('GET', 'secret/data/app', { ns: 'ns1', token: rootNsToken })).status, 200);
});

t.test('kubernetes login', async (t) => {
  const vault = await startVaultFake();
  t.teardown(() => vault.close());
  const call = client(vault);
  vault.addKubernetesRole('erlmcp', { jwts: ['good.jwt.sig'], policies: ['app'], ttl: 1200, maxTtl: 7200 });
  vault.addKubernetesRole('erlmcp', { jwts: ['prod.jwt.sig'], policies: ['prod'] }, { mount: 'k8s-prod' });

  const login = await call('POST', 'auth/kubernetes/login', { token: null, body: { role: 'erlmcp', jwt: 'good.jwt.sig' } });
  t.equal(login.status, 200);
  t.match(login.body.auth, { policies: ['default', 'app'], lease_duration: 1200, renewable: true, token_type: 'service', metadata: { role: 'erlmcp' } });
  t.type(login.body.auth.client_token, 'string');
  t.type(login.body.auth.accessor, 'string');
  const look = await call('GET', 'auth/token/lookup-self', { token: login.body.auth.client_token });
  t.equal(look.body.data.path, 'auth/kubernetes/login');

  const cases: Array<[unknown, number, string[]]> = [
    [{ role: 'erlmcp', jwt: 'bad.jwt.sig' }, 403, ['permission denied']],
    [{ jwt: 'good.jwt.sig' }, 400, ['missing role']],
    [{ role: 'erlmcp' }, 400, ['missing jwt']],
    [{ role: 'nope', jwt: 'good.jwt.sig' }, 400, ['invalid role name "nope"']],
  ];
  for (const [body, status, errs] of cases) {
    const r = await call('POST', 'auth/kubernetes/login', { token: null, body });
    t.same([r.status, r.body], [status, { errors: errs }], JSON.stringify(body));
  }
  t.equal((await call('POST', 'auth/k8s-prod/login', { token: null, body: { role: 'erlmcp', jwt: 'prod.jwt.sig' } })).status, 200);
  t.equal((await call('POST', 'auth/k8s-prod/login', { token: null, body: { role: 'erlmcp', jwt: 'good.jwt.sig' } })).status, 403);
  t.same((await call('POST', 'auth/k8s-nope/login', { token: null, body: {} })).body, BAD_TOKEN, 'an unmounted login path needs a token');
});

t.test('approle login', async (t) => {
  const vault = await startVaultFake();
  t.teardown(() => vault.close());
  const call = client(vault);
  vault.addAppRole('erlmcp', { roleId: 'role-123', secretIds: ['secret-456'], policies: ['app'], ttl: 900 });
  const ok = await call('PUT', 'auth/approle/login', { token: null, body: { role_id: 'role-123', secret_id: 'secret-456' } });
  t.equal(ok.status, 200);
  t.match(ok.body.auth, { lease_duration: 900, renewable: true, metadata: { role_name: 'erlmcp' } });
  const cases: Array<[unknown, string]> = [
    [{ role_id: 'role-123', secret_id: 'wrong' }, 'invalid role or secret ID'],
    [{ role_id: 'nope', secret_id: 'secret-456' }, 'invalid role or secret ID'],
    [{ secret_id: 'secret-456' }, 'missing role_id'],
    [{ role_id: 'role-123' }, 'missing secret_id'],
  ];
  for (const [body, msg] of cases) {
    const r = await call('POST', 'auth/approle/login', { token: null, body });
    t.same([r.status, r.body], [400, { errors: [msg] }], msg);
  }
});

t.test('database credentials and leases', async (t) => {
  const vault = await startVaultFake();
  t.teardown(() => vault.close());
  const call = client(vault);
  vault.addDatabaseRole('erlmcp', { ttl: 3600, maxTtl: 5400, passwordPrefix: 'CANARY-' });
  vault.setPolicy('db', { 'database/creds/erlmcp': ['read'] });
  const token = vault.createToken({ policies: ['db'], ttl: 7200 });

  const a = await call('GET', 'database/creds/erlmcp', { token });
  const b = await call('GET', 'database/creds/erlmcp', { token });
  t.equal(a.status, 200);
  t.match(a.body, { lease_duration: 3600, renewable: true, lease_id: /^database\/creds\/erlmcp\/.+/ });
  t.match(a.body.data, { username: /^v-token-erlmcp-/, password: /^CANARY-/ });
  t.not(a.body.data.password, b.body.data.password, 'fresh credentials per read');
  t.not(a.body.lease_id, b.body.lease_id);
  t.same((await call('GET', 'database/creds/none')).body, { errors: ['unknown role: none'] });

  const lookup = await call('PUT', 'sys/leases/lookup', { token, body: { lease_id: a.body.lease_id } });
  t.match(lookup.body.data, { id: a.body.lease_id, ttl: 3600, renewable: true, last_renewal: null });

  vault.advance(3000);
  const renewed = await call('PUT', 'sys/leases/renew', { token, body: { lease_id: a.body.lease_id, increment: 3600 } });
  t.equal(renewed.status, 200);
  t.match(renewed.body, { lease_id: a.body.lease_id, renewable: true, lease_duration: 2400, data: null });
  t.same(renewed.body.warnings, ['TTL of "1h0m0s" exceeded the effective max_ttl of "40m0s"; TTL value is capped accordingly']);
  const denied = await call('POST', `sys/leases/renew/${a.body.lease_id}`, { token, body: { increment: 60 } });
  t.equal(denied.status, 403, 'the default policy grants sys/leases/renew only, not the path form');
  const r2 = await call('POST', `sys/leases/renew/${a.body.lease_id}`, { body: { increment: 60 } });
  t.equal(r2.body.lease_duration, 60, 'lease id in the path, small increment honoured');

  vault.advance(120);
  const expired = await call('PUT', 'sys/leases/renew', { token, body: { lease_id: a.body.lease_id } });
  t.same([expired.status, expired.body], [400, { errors: ['lease expired'] }]);
  t.ok(vault.runExpiration().includes(a.body.lease_id));
  t.same((await call('PUT', 'sys/leases/renew', { token, body: { lease_id: a.body.lease_id } })).body, { errors: ['lease not found'] });
  t.same((await call('PUT', 'sys/leases/renew', { token, body: { lease_id: 'database/creds/erlmcp/unknown' } })).body, { errors: ['lease not found'] });
  t.same((await call('PUT', 'sys/leases/renew', { token, body: {} })).body, { errors: ['lease_id must be specified'] });
  t.same((await call('PUT', 'sys/leases/lookup', { token, body: { lease_id: 'nope' } })).body, { errors: ['invalid lease'] });

  t.equal((await call('PUT', 'sys/leases/revoke', { token, body: { lease_id: b.body.lease_id } })).status, 403, 'the default policy does not grant revoke');
  vault.setPolicy('db', { 'database/creds/erlmcp': ['read'], 'sys/leases/revoke': ['update'] });
  t.equal((await call('PUT', 'sys/leases/revoke', { token, body: { lease_id: b.body.lease_id } })).status, 204);
  t.same((await call('PUT', 'sys/leases/renew', { token, body: { lease_id: b.body.lease_id } })).body, { errors: ['lease not found'] });
  t.equal((await call('PUT', 'sys/leases/revoke', { token, body: { lease_id: 'never/was' } })).status, 204, 'revoking an unknown lease succeeds');

  const c = await call('GET', 'database/creds/erlmcp', { token });
  vault.revokeToken(token);
  const other = vault.createToken({ policies: ['default'] });
  t.same((await call('PUT', 'sys/leases/renew', { token: other, body: { lease_id: c.body.lease_id } })).body, { errors: ['lease not found'] }, 'revoked with the token that created it');

  vault.addDatabaseRole('fixed', { ttl: 60, maxTtl: 60, renewable: false });
  const d = await call('GET', 'database/creds/fixed');
  t.same((await call('PUT', 'sys/leases/renew', { body: { lease_id: d.body.lease_id } })).body, { errors: ['lease is not renewable'] });
});

t.test('modes: sealed, rate limited, performance standby, injected failures; sys/health per mode', async (t) => {
  const vault = await startVaultFake();
  t.teardown(() => vault.close());
  const call = client(vault);
  vault.putKv('secret/app', { a: '1' });

  const healthy = await call('GET', 'sys/health', { token: null });
  t.match([healthy.status, healthy.body], [200, { initialized: true, sealed: false, standby: false }]);
  const head = await fetch(`${vault.url}/v1/sys/health`, { method: 'HEAD' });
  t.same([head.status, await head.text()], [200, ''], 'HEAD: status only');
  const bearer = await fetch(`${vault.url}/v1/secret/data/app`, { headers: { Authorization: `Bearer ${vault.rootToken}` } });
  t.equal(bearer.status, 200, 'Authorization: Bearer works like X-Vault-Token');

  vault.setMode('sealed');
  t.same(await call('GET', 'secret/data/app').then((r) => [r.status, r.body]), [503, { errors: ['Vault is sealed'] }]);
  const sealedHealth = await call('GET', 'sys/health', { token: null });
  t.match([sealedHealth.status, sealedHealth.body], [503, { sealed: true }]);
  t.notOk('cluster_name' in sealedHealth.body);
  t.equal((await call('GET', 'sys/health?sealedcode=200', { token: null })).status, 200);
  t.equal((await call('GET', 'sys/seal-status', { token: null })).body.sealed, true);

  vault.setMode('rate-limited');
  const limited = await call('GET', 'secret/data/app');
  t.same([limited.status, limited.body], [429, { errors: ['request path "secret/data/app": rate limit quota exceeded'] }]);
  t.equal(limited.headers.get('retry-after'), '1');

  vault.setMode('standby');
  t.equal((await call('GET', 'secret/data/app')).status, 473);
  const sb = await call('GET', 'sys/health', { token: null });
  t.match([sb.status, sb.body], [473, { performance_standby: true, sealed: false }]);
  t.equal((await call('GET', 'sys/health?perfstandbyok=true', { token: null })).status, 200);

  vault.setMode('active');
  vault.failNext(500, ['internal error'], 2);
  t.same((await call('GET', 'secret/data/app')).body, { errors: ['internal error'] });
  t.equal((await call('GET', 'secret/data/app')).status, 500);
  t.equal((await call('GET', 'secret/data/app')).status, 200, 'only the next two');
  t.equal(vault.count('/v1/secret/data/app'), 7);
  t.equal(vault.count('/v1/sys/health', 'GET'), 5);
  t.equal(vault.count('/v1/sys/health', 'HEAD'), 1);
});

t.test('malformed requests', async (t) => {
  const vault = await startVaultFake();
  t.teardown(() => vault.close());
  const call = client(vault);
  const bad = await call('POST', 'secret/data/app', { raw: '{not json' });
  t.equal(bad.status, 400);
  t.match(bad.body.errors[0], /^failed to parse JSON input: /);
  t.equal((await call('DELETE', 'sys/health')).status, 405);
  t.equal((await call('DELETE', 'sys/leases/renew')).status, 405);
  const res = await fetch(`${vault.url}/not-v1`);
  t.same([res.status, await res.json()], [404, { errors: [] }]);
});

t.test('HTTPS with a generated CA', async (t) => {
  const pki = makeTestPki();
  t.teardown(() => pki.cleanup());
  const vault = await startVaultFake({ tls: { cert: pki.cert, key: pki.key } });
  t.teardown(() => vault.close());
  t.match(vault.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const get = (ca: string) =>
    new Promise<number>((resolve, reject) => {
      https.get(`${vault.url}/v1/sys/health`, { ca }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
  t.equal(await get(readFileSync(pki.caFile, 'utf8')), 200);
  await t.rejects(get(readFileSync(pki.otherCaFile, 'utf8')), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
});

t.test('as OpenBao 2.7.2 answers: a namespace must exist; delete_version_after sets a future deletion_time on live versions', async (t) => {
  const vault = await startVaultFake();
  t.teardown(() => vault.close());
  const call = client(vault);
  t.same(await call('GET', 'auth/token/lookup-self', { ns: 'nope' }).then((c) => [c.status, c.body]), [404, { errors: ['namespace not found'] }]);
  vault.createNamespace('team/child');
  t.equal((await call('GET', 'auth/token/lookup-self', { ns: 'team' })).status, 200, 'a parent is created with its child');
  t.equal((await call('GET', 'auth/token/lookup-self', { ns: 'team/child/' })).status, 200);

  t.equal((await call('POST', 'secret/metadata/exp', { body: { delete_version_after: '1h' } })).status, 204);
  await call('POST', 'secret/data/exp', { body: { data: { a: '1' } } });
  const read = await call('GET', 'secret/data/exp');
  t.equal(read.status, 200, 'a live version, though it has a deletion_time');
  t.equal(Date.parse(read.body.data.metadata.deletion_time), vault.now() + 3600_000, 'one hour ahead');
  const meta = await call('GET', 'secret/metadata/exp');
  t.equal(meta.body.data.delete_version_after, '3600s');
  vault.advance(3601);
  const later = await call('GET', 'secret/data/exp');
  t.same([later.status, later.body.data.data], [404, null], 'past its deletion_time: deleted');
});

t.test('hostile answers: raw numbers and nesting JSON.stringify cannot write, only where asked', async (t) => {
  const vault = await startVaultFake();
  t.teardown(() => vault.close());
  vault.addDatabaseRole('app', { ttl: 60, maxTtl: 120 });
  vault.putKv('secret/app', { password: 'p' });
  const raw = async (path: string): Promise<string> => (await fetch(`${vault.url}/v1/${path}`, { headers: { 'X-Vault-Token': vault.rootToken } })).text();

  vault.setHostile({ paths: /^database\/creds\//, fields: { lease_duration: '1e999', renewable: '"yes"' } });
  const creds = await raw('database/creds/app');
  t.match(creds, /"lease_duration":1e999,/, 'the raw text as given');
  t.match(creds, /"renewable":"yes"/);
  t.equal((JSON.parse(creds) as { lease_duration: number }).lease_duration, Number.POSITIVE_INFINITY, 'what a JSON parser makes of it');
  t.match(await raw('secret/data/app'), /"version":1/, 'other paths answer honestly');

  vault.setHostile({ paths: /^auth\/token\/lookup-self$/, fields: { ttl: '-5', creation_ttl: '"x"', explicit_max_ttl: '1e30' } });
  const self = JSON.parse(await raw('auth/token/lookup-self')) as { data: Record<string, unknown> };
  t.same([self.data.ttl, self.data.creation_ttl, self.data.explicit_max_ttl], [-5, 'x', 1e30]);

  vault.setHostile({ deepNesting: 200_000, fields: { version: '-1' } });
  const deep = await raw('secret/data/app');
  t.ok(deep.length > 400_000 && deep.includes('['.repeat(1000)), `a member nested 200k deep (${deep.length} bytes)`);
  const parsed = JSON.parse(deep) as { data: { data: Record<string, unknown>; metadata: { version: number } } };
  t.equal(parsed.data.data.password, 'p', 'the secret is still there beside it');
  t.equal(parsed.data.metadata.version, -1);

  vault.setHostile(undefined);
  t.notMatch(await raw('secret/data/app'), /deep/, 'honest again');
});
