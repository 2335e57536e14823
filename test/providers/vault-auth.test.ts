// The vault provider's identity: token, kubernetes and approle logins against
// the fake, credential-file problems, and the token lifecycle the scheduler
// drives (tokenInfo, renewToken with max-TTL capping, relogin) including the
// invalidate() report of secrets whose leases died with the old token.

import t from 'tap';
import type { AgentError } from '../../agent/errors.ts';
import { assertNoCanaries, signal, vaultHarness } from '../fakes/vault/harness.ts';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.CANARY-jwt-payload-4b1f.sig';
const SECRET_ID = 'CANARY-sid-90ad77e1';
const ROLE_ID = 'CANARY-rid-3c5e0b12';
const VALUE = 'CANARY-value-1f2e3d4c';

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as AgentError);

t.test('token method: tokenFile resolves against baseDir; lookup-self gives TTL', async (t) => {
  const h = await vaultHarness(t);
  h.vault.putKv('secret/app', { v: VALUE });
  h.vault.setPolicy('app', { 'secret/data/app': ['read'] });
  const token = h.vault.createToken({ policies: ['app'], ttl: 1800 });
  const p = await h.provider({ auth: { method: 'token', tokenFile: h.file('vault-token', `  ${token}\n`) } });
  t.equal(p.tokenInfo(), undefined, 'no login before the first use');
  t.match(await p.fetch({ name: 'app', spec: { path: 'secret/data/app' } }, signal()), { data: { v: VALUE }, version: '1', createdAt: Number }); // KV v2: the version's created_time comes along
  t.same(p.tokenInfo(), { ttlSeconds: 1800, renewable: true, obtainedAt: h.vault.now(), expiresAt: h.vault.now() + 1800_000, requestedTtlSeconds: 1800 });
  t.ok(h.logLines.some((l) => l.includes('"msg":"vault token loaded"')));
  assertNoCanaries(t, [token, VALUE], h.logLines);
});

t.test('credential file problems are auth errors naming the file', async (t) => {
  const h = await vaultHarness(t);
  const read = async (auth: Record<string, unknown>) => failure((await h.provider({ auth })).fetch({ name: 'x', spec: { path: 'secret/data/x' } }, signal()));
  const missing = await read({ method: 'token', tokenFile: 'no-such-token' });
  t.equal(missing!.code, 'auth');
  t.equal(missing!.message, `vault provider "vault": cannot read auth.tokenFile ${h.dir}/no-such-token: no such file (ENOENT)`);
  t.equal(missing!.where, 'providers.vault.auth.tokenFile');
  t.equal(missing!.retryable, false);
  const empty = await read({ method: 'token', tokenFile: h.file('empty', '\n') });
  t.equal(empty!.message, `vault provider "vault": auth.tokenFile ${h.dir}/empty is empty`);
  const dirAsFile = await read({ method: 'kubernetes', role: 'r', jwtFile: '.' });
  t.equal(dirAsFile!.message, `vault provider "vault": cannot read auth.jwtFile ${h.dir}: is a directory, not a regular file; point it at a regular file`);
  const noSecretId = await read({ method: 'approle', roleIdFile: h.file('rid', ROLE_ID), secretIdFile: 'sid' });
  t.equal(noSecretId!.message, `vault provider "vault": cannot read auth.secretIdFile ${h.dir}/sid: no such file (ENOENT)`);
  const CANARY_HALF = 'hvs.CANARYfirstHalf93kd';
  const CANARY_REST = 'CANARYsecondHalf28xq';
  for (const [name, body] of [['two-lines', `${CANARY_HALF}\n${CANARY_REST}\n`], ['spaced', `${CANARY_HALF} ${CANARY_REST}`], ['nul', `${CANARY_HALF}\0`]] as const) {
    const bad = await read({ method: 'token', tokenFile: h.file(name, body) });
    t.same([bad!.code, bad!.retryable, bad!.where], ['auth', false, 'providers.vault.auth.tokenFile'], `${name}: a permanent auth error`);
    t.equal(bad!.message, `vault provider "vault": auth.tokenFile ${h.dir}/${name} holds a line break, space or control character inside its value; it must hold the credential alone, on one line`);
    assertNoCanaries(t, [CANARY_HALF, CANARY_REST], [bad!.message, ...h.logLines]);
  }
  const badJwt = await read({ method: 'kubernetes', role: 'r', jwtFile: h.file('jwt', 'eyJhbGciOi.part\neyJzdWIi.part') });
  t.match(badJwt!.message, /auth\.jwtFile .*\/jwt holds a line break/);
  t.equal(h.vault.requests.length, 0, 'nothing was sent');
});

t.test('token method: a revoked token is refused with a clear message', async (t) => {
  const h = await vaultHarness(t);
  const token = h.vault.createToken({ policies: ['default'] });
  h.vault.revokeToken(token);
  const p = await h.provider({ auth: { method: 'token', tokenFile: h.file('t', token) } });
  const e = await failure(p.fetch({ name: 'x', spec: { path: 'secret/data/x' } }, signal()));
  t.equal(e!.code, 'auth');
  t.equal(
    e!.message,
    `vault provider "vault": Vault at ${h.vault.url} does not accept the token in auth.tokenFile (${h.dir}/t): it is expired, revoked, or from another Vault or namespace (or lacks the default policy, which allows auth/token/lookup-self); put a valid token in the file`,
  );
  assertNoCanaries(t, [token], [e!.message, ...h.logLines]);
});

t.test('kubernetes login: default and custom mounts, refusals with Vault\'s reason', async (t) => {
  const h = await vaultHarness(t);
  h.vault.putKv('secret/app', { v: VALUE });
  h.vault.setPolicy('app', { 'secret/data/app': ['read'] });
  h.vault.addKubernetesRole('erlmcp', { jwts: [JWT], policies: ['app'], ttl: 1200 });
  h.vault.addKubernetesRole('erlmcp', { jwts: [JWT], policies: ['app'], ttl: 600 }, { mount: 'k8s-prod' });
  const jwtFile = h.file('sa-token', JWT);

  const p = await h.provider({ auth: { method: 'kubernetes', role: 'erlmcp', jwtFile } });
  t.same((await p.fetch({ name: 'app', spec: { path: 'secret/data/app' } }, signal())).data, { v: VALUE });
  t.equal(h.vault.count('/v1/auth/kubernetes/login', 'POST'), 1);
  t.equal(p.tokenInfo()!.ttlSeconds, 1200);

  const prod = await h.provider({ auth: { method: 'kubernetes', role: 'erlmcp', mount: 'k8s-prod', jwtFile } });
  await prod.fetch({ name: 'app', spec: { path: 'secret/data/app' } }, signal());
  t.equal(h.vault.count('/v1/auth/k8s-prod/login', 'POST'), 1);
  t.equal(prod.tokenInfo()!.ttlSeconds, 600);

  const wrongJwt = await h.provider({ auth: { method: 'kubernetes', role: 'erlmcp', jwtFile: h.file('other-sa', 'eyJ.CANARY-other-jwt-77aa.sig') } });
  const e1 = await failure(wrongJwt.fetch({ name: 'app', spec: { path: 'secret/data/app' } }, signal()));
  t.equal(e1!.code, 'auth');
  t.equal(
    e1!.message,
    `vault provider "vault": kubernetes login at auth/kubernetes/login as role "erlmcp" was refused (permission denied): Vault did not accept the service account token in auth.jwtFile (${h.dir}/other-sa) for that role; check the role exists and binds this pod's service account name and namespace`,
  );
  const wrongRole = await h.provider({ auth: { method: 'kubernetes', role: 'nope', jwtFile } });
  const e2 = await failure(wrongRole.fetch({ name: 'app', spec: { path: 'secret/data/app' } }, signal()));
  t.match(e2!.message, /^vault provider "vault": kubernetes login at auth\/kubernetes\/login as role "nope" was refused \(invalid role name "nope"\): /);
  assertNoCanaries(t, [JWT, 'CANARY-other-jwt-77aa', VALUE], [e1!.message, e2!.message, ...h.logLines]);
});

t.test('approle login, and a wrong secret ID never echoed', async (t) => {
  const h = await vaultHarness(t);
  h.vault.putKv('secret/app', { v: VALUE });
  h.vault.addAppRole('erlmcp', { roleId: ROLE_ID, secretIds: [SECRET_ID], policies: ['root'], ttl: 900 });
  const roleIdFile = h.file('role-id', ROLE_ID);
  const p = await h.provider({ auth: { method: 'approle', roleIdFile, secretIdFile: h.file('secret-id', `${SECRET_ID}\n`) } });
  t.same((await p.fetch({ name: 'app', spec: { path: 'secret/data/app' } }, signal())).data, { v: VALUE });
  t.equal(p.tokenInfo()!.ttlSeconds, 900);

  const bad = await h.provider({ auth: { method: 'approle', roleIdFile, secretIdFile: h.file('bad-secret-id', 'CANARY-wrongsid-0042') } });
  const e = await failure(bad.fetch({ name: 'app', spec: { path: 'secret/data/app' } }, signal()));
  t.equal(e!.code, 'auth');
  t.equal(
    e!.message,
    `vault provider "vault": approle login at auth/approle/login was refused (invalid role or secret ID): check auth.roleIdFile (${h.dir}/role-id) and auth.secretIdFile (${h.dir}/bad-secret-id); a secret ID can expire or run out of uses`,
  );
  t.equal(e!.where, 'providers.vault.auth');
  assertNoCanaries(t, [SECRET_ID, ROLE_ID, 'CANARY-wrongsid-0042', VALUE], [e!.message, ...h.logLines]);
});

t.test('renewToken: renew-self extends the TTL, capped at the max TTL, then re-login', async (t) => {
  const h = await vaultHarness(t);
  h.vault.putKv('secret/app', { v: VALUE });
  h.vault.addKubernetesRole('erlmcp', { jwts: [JWT], policies: ['root'], ttl: 600, maxTtl: 900 });
  const p = await h.provider({ auth: { method: 'kubernetes', role: 'erlmcp', jwtFile: h.file('jwt', JWT) } });
  await p.fetch({ name: 'app', spec: { path: 'secret/data/app' } }, signal());
  const start = h.vault.now();
  t.same(p.tokenInfo(), { ttlSeconds: 600, renewable: true, obtainedAt: start, expiresAt: start + 600_000, requestedTtlSeconds: 600 });

  h.vault.advance(400);
  t.same(
    await p.renewToken(),
    { ttlSeconds: 500, renewable: true, obtainedAt: start + 400_000, expiresAt: start + 900_000, requestedTtlSeconds: 600 },
    'capped: 500s of the 900s max remain, shorter than the 600s asked for',
  );
  t.equal(h.vault.count('/v1/auth/token/renew-self', 'POST'), 1);
  t.equal(h.vault.count('/v1/auth/kubernetes/login'), 1, 'no new login yet');

  h.vault.advance(500); // the token reached its max TTL
  const after = await p.renewToken();
  t.equal(h.vault.count('/v1/auth/kubernetes/login'), 2, 'renewal refused, so logged in again');
  t.same(after, { ttlSeconds: 600, renewable: true, obtainedAt: h.vault.now(), expiresAt: h.vault.now() + 600_000, requestedTtlSeconds: 600 });
  t.ok(h.logLines.some((l) => l.includes('cannot be renewed; logging in again')));
});

t.test('relogin reports the secrets whose leases came from the old token', async (t) => {
  const h = await vaultHarness(t);
  h.vault.putKv('secret/app', { v: VALUE });
  h.vault.addDatabaseRole('erlmcp', { ttl: 3600, maxTtl: 7200 });
  h.vault.addKubernetesRole('erlmcp', { jwts: [JWT], policies: ['root'], ttl: 3600 });
  const p = await h.provider({ auth: { method: 'kubernetes', role: 'erlmcp', jwtFile: h.file('jwt', JWT) } });
  const kv = await p.fetch({ name: 'app', spec: { path: 'secret/data/app' } }, signal());
  await p.fetch({ name: 'dbcreds', spec: { path: 'database/creds/erlmcp' } }, signal());
  await p.fetch({ name: 'dbcreds2', spec: { path: 'database/creds/erlmcp' } }, signal());
  t.same(h.invalidations, []);

  await p.relogin();
  t.same(h.invalidations, [{ reason: 'vault token replaced', names: ['dbcreds', 'dbcreds2'] }], 'only leased secrets, not KV');
  t.equal(h.vault.count('/v1/auth/kubernetes/login'), 2);
  await p.relogin();
  t.equal(h.invalidations.length, 1, 'no leases under the second token: nothing to report');
  t.equal(await p.changed!({ name: 'app', spec: { path: 'secret/data/app' } }, kv, signal()), false);
});

t.test('a revoked token is replaced on the next call; a policy denial is not', async (t) => {
  const h = await vaultHarness(t);
  h.vault.putKv('secret/app', { v: VALUE });
  h.vault.addDatabaseRole('erlmcp', { ttl: 3600, maxTtl: 7200 });
  h.vault.setPolicy('app', { 'secret/data/app': ['read'], 'database/creds/erlmcp': ['read'] });
  h.vault.addKubernetesRole('erlmcp', { jwts: [JWT], policies: ['app'], ttl: 3600 });
  const p = await h.provider({ auth: { method: 'kubernetes', role: 'erlmcp', jwtFile: h.file('jwt', JWT) } });
  const ref = { name: 'app', spec: { path: 'secret/data/app' } };
  await p.fetch({ name: 'dbcreds', spec: { path: 'database/creds/erlmcp' } }, signal());

  const before = h.vault.requests.length;
  // the token the login issued is the one that owns the lease
  const issued = [...new Set(h.vault.leases().map((l) => l.tokenId))][0]!;
  h.vault.revokeToken(issued);

  t.same((await p.fetch(ref, signal())).data, { v: VALUE }, 'succeeds after logging in again');
  t.same(
    h.vault.requests.slice(before).map((r) => `${r.method} ${r.path} ${r.status}`),
    ['GET /v1/secret/data/app 403', 'GET /v1/auth/token/lookup-self 403', 'POST /v1/auth/kubernetes/login 200', 'GET /v1/secret/data/app 200'],
  );
  t.same(h.invalidations, [{ reason: 'vault token replaced', names: ['dbcreds'] }]);

  const denied = await failure(p.fetch({ name: 'other', spec: { path: 'secret/data/other' } }, signal()));
  t.equal(denied!.code, 'auth');
  t.equal(
    denied!.message,
    'vault provider "vault": permission denied reading secret/data/other: the token\'s policies must grant read on it: path "secret/data/other" { capabilities = ["read"] }',
  );
  t.equal(h.vault.count('/v1/auth/kubernetes/login'), 2, 'a live token denied by policy is not replaced');
});

t.test('a token that ran out by the clock is replaced before the call', async (t) => {
  const h = await vaultHarness(t);
  h.vault.putKv('secret/app', { v: VALUE });
  h.vault.addKubernetesRole('erlmcp', { jwts: [JWT], policies: ['root'], ttl: 60 });
  const p = await h.provider({ auth: { method: 'kubernetes', role: 'erlmcp', jwtFile: h.file('jwt', JWT) } });
  const ref = { name: 'app', spec: { path: 'secret/data/app' } };
  await p.fetch(ref, signal());
  h.vault.advance(61);
  await p.fetch(ref, signal());
  t.equal(h.vault.count('/v1/auth/kubernetes/login'), 2);
  t.notOk(h.vault.requests.some((r) => r.status === 403), 'no request was sent with the dead token');
});

t.test('token method re-reads tokenFile on relogin', async (t) => {
  const h = await vaultHarness(t);
  h.vault.putKv('secret/app', { v: VALUE });
  const first = h.vault.createToken({ policies: ['root'], ttl: 600 });
  const file = h.file('token', first);
  const p = await h.provider({ auth: { method: 'token', tokenFile: file } });
  const ref = { name: 'app', spec: { path: 'secret/data/app' } };
  await p.fetch(ref, signal());
  const second = h.vault.createToken({ policies: ['root'], ttl: 900 });
  h.file('token', second);
  h.vault.revokeToken(first);
  t.same((await p.fetch(ref, signal())).data, { v: VALUE });
  t.equal(p.tokenInfo()!.ttlSeconds, 900, 'now on the token from the rewritten file');
  h.vault.revokeToken(second);
  const e = await failure(p.fetch(ref, signal()));
  t.equal(e!.code, 'auth');
  t.match(e!.message, /does not accept the token in auth\.tokenFile/);
  assertNoCanaries(t, [first, second, VALUE], [e!.message, ...h.logLines]);
});

t.test('concurrent first fetches share one login', async (t) => {
  const h = await vaultHarness(t);
  for (let i = 0; i < 6; i++) h.vault.putKv(`secret/s${i}`, { v: `${VALUE}-${i}` });
  h.vault.addKubernetesRole('erlmcp', { jwts: [JWT], policies: ['root'] });
  const p = await h.provider({ auth: { method: 'kubernetes', role: 'erlmcp', jwtFile: h.file('jwt', JWT) } });
  const values = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => p.fetch({ name: `s${i}`, spec: { path: `secret/data/s${i}` } }, signal())));
  t.same(values.map((v) => v.data.v), [0, 1, 2, 3, 4, 5].map((i) => `${VALUE}-${i}`));
  t.equal(h.vault.count('/v1/auth/kubernetes/login'), 1);
});

t.test('a token that never expires is not renewed, and re-reading the same token keeps its leases', async (t) => {
  const h = await vaultHarness(t);
  h.vault.addDatabaseRole('erlmcp', { ttl: 600, maxTtl: 6000 });
  const p = await h.provider({ auth: { method: 'token', tokenFile: h.file('root', h.vault.rootToken) } });
  await p.fetch({ name: 'dbcreds', spec: { path: 'database/creds/erlmcp' } }, signal());
  const neverExpires = { ttlSeconds: 0, renewable: false, obtainedAt: h.vault.now(), expiresAt: undefined, requestedTtlSeconds: 0 };
  t.same(p.tokenInfo(), neverExpires);
  const before = h.vault.requests.length;
  t.same(await p.renewToken(), neverExpires);
  t.equal(h.vault.requests.length, before, 'no request for a non-expiring token');
  await p.relogin();
  t.same(h.invalidations, [], 'same token from the file: no lease was lost');
});
