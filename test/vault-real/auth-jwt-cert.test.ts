// JWT and TLS-certificate auth against a real OpenBao server. JWT: OpenBao's
// jwt auth method trusts a key pair made here (jwt_validation_pubkeys) and
// the tests sign tokens with node:crypto, as a Kubernetes API server signs a
// projected service account token. Cert: an OpenBao listener with TLS, two
// client CAs trusted by two cert roles with different policies. Both: the
// agent logs in again when the credential file is replaced, and the new
// credential's identity (entity) or policies are what Vault then gives it.
// Through the bundle; canary values, the JWT and the key never appear.

import t from 'tap';
import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent } from '../helpers/agent-process.ts';
import { BUNDLE } from '../helpers/cli.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { startBaoServer, startDevBao, writePolicy, type Bao } from '../helpers/openbao.ts';
import { agentDir, runInit, writeAgentConfig } from '../helpers/openbao-agent.ts';
import { makeCertificate, type IssuedCert } from '../helpers/openssl-certs.ts';
import { makeTestPki } from '../fakes/vault/certs.ts';

const CANARY = 'CANARY-jwtcert-7f3a9c1e5b';

// real servers and a sidecar that has to notice a file change: more than tap's default on a loaded machine
t.setTimeout(300_000);

/** replaces a file the way kubelet and cert-manager do: a new file renamed over the old one */
function replaceFile(file: string, content: string): void {
  writeFileSync(`${file}.new`, content);
  renameSync(`${file}.new`, file);
}

t.test('jwt auth', async (t) => {
  const bao = await startDevBao(t);
  await bao.ok('PUT', 'secret/data/app', { data: { password: CANARY } });
  await writePolicy(bao, 'reader', { 'secret/data/*': ['read'], 'secret/metadata/*': ['read'] });
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  await bao.ok('POST', 'sys/auth/jwt', { type: 'jwt' });
  await bao.ok('POST', 'auth/jwt/config', { jwt_validation_pubkeys: [publicKey.export({ type: 'spki', format: 'pem' }).toString()] });
  await bao.ok('POST', 'auth/jwt/role/erlmcp', { role_type: 'jwt', bound_audiences: ['vault'], user_claim: 'sub', token_policies: ['reader'], token_ttl: '1h' });
  const accessor = (await bao.ok('GET', 'sys/auth')).data['jwt/'].accessor as string;

  const jwt = (sub: string, aud = 'vault', key: KeyObject = privateKey): string => signJwt(key, { iss: 'https://kubernetes.default.svc', sub, aud });
  const first = jwt('system:serviceaccount:erlmcp:app');
  const dir = agentDir(t, '');
  writeFileSync(join(dir, 'sa-token'), first);
  const cfg = writeAgentConfig(dir, {
    address: bao.url,
    auth: '{ method: jwt, role: erlmcp, jwtFile: ./sa-token, checkInterval: 200ms }',
    secrets: { s: { path: 'secret/data/app' } },
    template: '{{s.password}}',
  });
  const leakChecked: string[] = [CANARY, first.split('.')[2]!];

  await t.test('init logs in with the JWT and renders', async (t) => {
    const ok = await runInit(dir, cfg);
    t.equal(ok.code, 0, ok.stderr);
    t.equal(readFileSync(join(dir, 'out/out.txt'), 'utf8'), CANARY);
    const login = ok.logs.find((l) => l.msg === 'vault login succeeded');
    t.equal(login?.method, 'jwt');
    t.equal(login?.mount, 'jwt');
    t.same(login?.policies, ['default', 'reader']);
    assertNoLeak(t, [ok.stdout, ok.stderr], leakChecked);
  });

  await t.test('a JWT for another audience, or signed by another key, is refused: exit 4 naming the role and what to check', async (t) => {
    for (const wrong of [jwt('system:serviceaccount:erlmcp:app', 'https://kubernetes.default.svc'), jwt('system:serviceaccount:erlmcp:app', 'vault', generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey)]) {
      writeFileSync(join(dir, 'sa-token'), wrong);
      const refused = await runInit(dir, cfg);
      t.equal(refused.code, 4, refused.stderr);
      t.match(refused.problems.join('\n'), 'jwt login at auth/jwt/login as role "erlmcp" was refused');
      t.match(refused.problems.join('\n'), 'bound_audiences');
      assertNoLeak(t, [refused.stdout, refused.stderr], [...leakChecked, wrong.split('.')[2]!]);
    }
    writeFileSync(join(dir, 'sa-token'), first);
  });

  await t.test('run: a replaced token file means a new login, as the new identity', async (t) => {
    const agent = startAgent(t, ['run', '-c', cfg], { program: BUNDLE, cwd: dir });
    await agent.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running', 30_000);
    const firstLogin = await agent.waitForLog((l) => l.msg === 'vault login succeeded', 'the first login');
    const mark = agent.logs.length;
    const second = jwt('system:serviceaccount:erlmcp:rotated');
    leakChecked.push(second.split('.')[2]!);
    replaceFile(join(dir, 'sa-token'), second);
    await agent.waitForLog((l) => l.msg === 'vault login credential file replaced; logging in again', 'the change seen', 20_000, mark);
    const again = await agent.waitForLog((l) => l.msg === 'vault login succeeded', 'a second login', 20_000, mark);
    // Vault's identity store: the entity of the new token's subject is the one the agent now is
    const entity = await bao.ok('POST', 'identity/lookup/entity', { alias_name: 'system:serviceaccount:erlmcp:rotated', alias_mount_accessor: accessor });
    t.equal(again.entityId, entity.data.id, 'the new login is the rotated subject');
    t.not(again.entityId, firstLogin.entityId, 'another identity than the first login');
    // touching the file without changing it is no new login
    const logins = agent.countLogs((l) => l.msg === 'vault login succeeded');
    replaceFile(join(dir, 'sa-token'), second);
    await new Promise((r) => setTimeout(r, 1500));
    t.equal(agent.countLogs((l) => l.msg === 'vault login succeeded'), logins, 'same content: no login');
    t.equal(readFileSync(join(dir, 'out/out.txt'), 'utf8'), CANARY);
    agent.proc.kill('SIGTERM');
    t.equal((await agent.exited).code, 0);
    assertNoLeak(t, [agent.stdout(), agent.stderr()], leakChecked);
  });

  await t.test('run: a token revoked under the agent (403) means a new login with the JWT', async (t) => {
    const quick = writeAgentConfig(dir, {
      address: bao.url,
      auth: '{ method: jwt, role: erlmcp, jwtFile: ./sa-token }',
      secrets: { s: { path: 'secret/data/app' } },
      template: '{{s.password}}',
      extra: 'refresh: { interval: 1s, jitter: 0 }\n',
    });
    const agent = startAgent(t, ['run', '-c', quick], { program: BUNDLE, cwd: dir });
    await agent.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running', 30_000);
    const mark = agent.logs.length;
    // every token the jwt mount issued, the agent's included
    await bao.ok('PUT', 'sys/leases/revoke-prefix/auth/jwt/login?sync=true');
    await agent.waitForLog((l) => l.msg === 'vault token no longer valid; logging in again', 'the dead token noticed', 20_000, mark);
    await agent.waitForLog((l) => l.msg === 'vault login succeeded', 'a new login', 20_000, mark);
    t.equal(agent.countLogs((l) => l.msg === 'secret refresh failed; files keep the last good value'), 0, 'no refresh failed on the way');
    agent.proc.kill('SIGTERM');
    t.equal((await agent.exited).code, 0);
    assertNoLeak(t, [agent.stdout(), agent.stderr()], leakChecked);
  });
});

t.test('cert auth', async (t) => {
  const pki = makeTestPki();
  t.teardown(() => pki.cleanup());
  writeFileSync(join(pki.dir, 'server-full.crt'), pki.cert);
  writeFileSync(join(pki.dir, 'server-full.key'), pki.key);
  const bao: Bao = await startBaoServer(t, { tls: { certFile: join(pki.dir, 'server-full.crt'), keyFile: join(pki.dir, 'server-full.key'), caFile: pki.caFile } });
  await bao.ok('POST', 'sys/mounts/secret', { type: 'kv', options: { version: '2' } });
  await bao.ok('PUT', 'secret/data/app', { data: { password: CANARY } });
  await writePolicy(bao, 'reader-a', { 'secret/data/*': ['read'] });
  await writePolicy(bao, 'reader-b', { 'secret/data/*': ['read'] });
  const caA = makeCertificate({ days: 2, cn: 'client-ca-a' });
  const caB = makeCertificate({ days: 2, cn: 'client-ca-b' });
  const clientA: IssuedCert = makeCertificate({ days: 1, cn: 'agent-a', issuer: caA });
  const clientB: IssuedCert = makeCertificate({ days: 1, cn: 'agent-b', issuer: caB });
  await bao.ok('POST', 'sys/auth/cert', { type: 'cert' });
  await bao.ok('POST', 'auth/cert/certs/a', { certificate: caA.certPem, token_policies: ['reader-a'], token_ttl: '1h' });
  await bao.ok('POST', 'auth/cert/certs/b', { certificate: caB.certPem, token_policies: ['reader-b'], token_ttl: '1h' });

  const dir = agentDir(t, '');
  writeFileSync(join(dir, 'client.crt'), clientA.certPem);
  writeFileSync(join(dir, 'client.key'), clientA.keyPem);
  const config = (auth: string, address = bao.url): string =>
    writeAgentConfig(dir, { address, tls: `{ caFile: ${JSON.stringify(pki.caFile)} }`, auth, secrets: { s: { path: 'secret/data/app' } }, template: '{{s.password}}' });
  const leakChecked = [CANARY, ...keyBody(clientA.keyPem), ...keyBody(clientB.keyPem)];

  await t.test('init presents the client certificate at login and renders', async (t) => {
    const cfg = config('{ method: cert, certFile: ./client.crt, keyFile: ./client.key, name: a }');
    const ok = await runInit(dir, cfg);
    t.equal(ok.code, 0, ok.stderr);
    t.equal(readFileSync(join(dir, 'out/out.txt'), 'utf8'), CANARY);
    const login = ok.logs.find((l) => l.msg === 'vault login succeeded');
    t.equal(login?.method, 'cert');
    t.same(login?.policies, ['default', 'reader-a']);
    assertNoLeak(t, [ok.stdout, ok.stderr], leakChecked);
  });

  await t.test('refusals: a certificate the named role does not trust (exit 4), a key of another certificate (exit 4), http:// (exit 2)', async (t) => {
    const notTrusted = await runInit(dir, config('{ method: cert, certFile: ./client.crt, keyFile: ./client.key, name: b }'));
    t.equal(notTrusted.code, 4, notTrusted.stderr);
    t.match(notTrusted.problems.join('\n'), 'cert login at auth/cert/login as "b" was refused');

    writeFileSync(join(dir, 'other.key'), clientB.keyPem);
    const mismatch = await runInit(dir, config('{ method: cert, certFile: ./client.crt, keyFile: ./other.key }'));
    t.equal(mismatch.code, 4, mismatch.stderr);
    t.match(mismatch.problems.join('\n'), /auth\.keyFile .*other\.key is not the private key of the certificate in auth\.certFile/);

    const plain = await runInit(dir, config('{ method: cert, certFile: ./client.crt, keyFile: ./client.key }', bao.url.replace('https://', 'http://')));
    t.equal(plain.code, 2, plain.stderr);
    t.match(plain.stderr, 'auth.method cert presents a TLS client certificate, so address must be an https:// URL');
    assertNoLeak(t, [notTrusted.stderr, mismatch.stderr, plain.stderr], leakChecked);
  });

  await t.test('run: a replaced certificate and key mean a new login, with the policies of the role that trusts the new one', async (t) => {
    const cfg = config('{ method: cert, certFile: ./client.crt, keyFile: ./client.key, checkInterval: 200ms }');
    const agent = startAgent(t, ['run', '-c', cfg], { program: BUNDLE, cwd: dir });
    await agent.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running', 30_000);
    const first = await agent.waitForLog((l) => l.msg === 'vault login succeeded', 'the first login');
    t.same(first.policies, ['default', 'reader-a']);
    const mark = agent.logs.length;
    replaceFile(join(dir, 'client.key'), clientB.keyPem);
    replaceFile(join(dir, 'client.crt'), clientB.certPem);
    const again = await agent.waitForLog((l) => l.msg === 'vault login succeeded', 'a login with the new certificate', 20_000, mark);
    t.same(again.policies, ['default', 'reader-b'], 'the role that trusts the new certificate');
    t.equal(readFileSync(join(dir, 'out/out.txt'), 'utf8'), CANARY);
    agent.proc.kill('SIGTERM');
    t.equal((await agent.exited).code, 0);
    assertNoLeak(t, [agent.stdout(), agent.stderr()], leakChecked);
  });
});

function signJwt(key: KeyObject, claims: Record<string, unknown>): string {
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: 'ES256', typ: 'JWT' });
  const body = b64({ iat: now, nbf: now - 5, exp: now + 3600, ...claims });
  const sig = createSign('SHA256').update(`${head}.${body}`).sign({ key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return `${head}.${body}.${sig}`;
}

/** the base64 lines of a PEM key: what would show if any of it leaked */
function keyBody(pem: string): string[] {
  return pem.split('\n').filter((l) => l !== '' && !l.startsWith('-----'));
}
