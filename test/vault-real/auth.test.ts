// Auth methods against a real OpenBao dev server: token (renewed while it
// runs), AppRole (re-login when the token reaches its max TTL), Kubernetes
// (OpenBao's kubernetes auth asks a TokenReview stub over HTTPS, as it would
// ask the API server). Through the bundle; canary values never appear.

import t, { type Test } from 'tap';
import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { startAgent } from '../helpers/agent-process.ts';
import { BUNDLE } from '../helpers/cli.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { createToken, startDevBao, writePolicy, type Bao } from '../helpers/openbao.ts';
import { agentDir, runInit, writeAgentConfig } from '../helpers/openbao-agent.ts';
import { makeTestPki, type TestPki } from '../fakes/vault/certs.ts';

const CANARY = { a: 'CANARY-Au-a-5e7a9c1b', b: 'CANARY-Au-b-3d5f7a9c' };
const SA = { namespace: 'erlmcp', name: 'erlmcp-app', uid: randomUUID() };

// real servers, TTLs that run out on purpose: more than tap's default 120 s on a loaded machine
t.setTimeout(360_000);

let bao: Bao;
let pki: TestPki;
t.before(async () => {
  bao = await startDevBao(t);
  pki = makeTestPki();
  t.teardown(() => pki.cleanup());
  await bao.ok('PUT', 'secret/data/app', { data: { password: CANARY.a } });
  await writePolicy(bao, 'reader', { 'secret/data/*': ['read'] });
});

/** a service account JWT, signed (ES256) by a key nobody verifies: the TokenReview stub vouches for it */
function serviceAccountJwt(sa: typeof SA): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = b64({ alg: 'ES256', typ: 'JWT', kid: 'test' });
  const now = Math.floor(Date.now() / 1000);
  const body = b64({
    iss: 'kubernetes/serviceaccount',
    sub: `system:serviceaccount:${sa.namespace}:${sa.name}`,
    iat: now,
    exp: now + 3600,
    'kubernetes.io/serviceaccount/namespace': sa.namespace,
    'kubernetes.io/serviceaccount/service-account.name': sa.name,
    'kubernetes.io/serviceaccount/service-account.uid': sa.uid,
    'kubernetes.io/serviceaccount/secret.name': `${sa.name}-token`,
  });
  const sig = createSign('SHA256').update(`${head}.${body}`).sign({ key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return `${head}.${body}.${sig}`;
}

/** the API server's TokenReview, over HTTPS: authenticates exactly the JWTs it was given */
async function tokenReviewStub(t: Test, accepted: Map<string, typeof SA>): Promise<{ url: string; reviews: number }> {
  const state = { url: '', reviews: 0 };
  const server = https.createServer({ cert: pki.cert, key: pki.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/apis/authentication.k8s.io/v1/tokenreviews') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"kind":"Status","code":404}');
        return;
      }
      state.reviews++;
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { spec?: { token?: string; audiences?: string[] } };
      const sa = accepted.get(review.spec?.token ?? '');
      const status = sa
        ? { authenticated: true, user: { username: `system:serviceaccount:${sa.namespace}:${sa.name}`, uid: sa.uid, groups: ['system:serviceaccounts'] }, audiences: review.spec?.audiences ?? [] }
        : { authenticated: false, error: 'invalid bearer token' };
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', status }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  state.url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  return state;
}

t.test('token auth: a short-lived renewable token is renewed while the sidecar runs', async (t) => {
  const dir = agentDir(t, await createToken(bao, { policies: ['reader'], ttl: '3s' }));
  const cfg = writeAgentConfig(dir, { address: bao.url, secrets: { s: { path: 'secret/data/app' } }, template: '{{s.password}}' });
  const agent = startAgent(t, ['run', '-c', cfg], { program: BUNDLE, cwd: dir });
  await agent.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running', 30_000);
  await agent.waitForLog((l) => l.msg === 'vault token renewed', 'a renewal', 15_000);
  const mark = agent.logs.length;
  await agent.waitForLog((l) => l.msg === 'vault token renewed', 'a second renewal, past the first TTL', 15_000, mark);
  t.equal(readFileSync(join(dir, 'out/out.txt'), 'utf8'), CANARY.a);
  agent.proc.kill('SIGTERM');
  t.equal((await agent.exited).code, 0);
  assertNoLeak(t, [agent.stdout(), agent.stderr()], Object.values(CANARY));
});

t.test('approle: login, renewal, and a fresh login when the token reaches its max TTL', async (t) => {
  await bao.ok('POST', 'sys/auth/approle', { type: 'approle' });
  await bao.ok('POST', 'auth/approle/role/agent', { token_policies: ['reader'], token_ttl: '3s', token_max_ttl: '6s' });
  const roleId = (await bao.ok('GET', 'auth/approle/role/agent/role-id')).data.role_id as string;
  const secretId = (await bao.ok('POST', 'auth/approle/role/agent/secret-id')).data.secret_id as string;
  const dir = agentDir(t, '');
  writeFileSync(join(dir, 'role-id'), roleId);
  writeFileSync(join(dir, 'secret-id'), secretId);
  const cfg = writeAgentConfig(dir, {
    address: bao.url,
    auth: '{ method: approle, roleIdFile: ./role-id, secretIdFile: ./secret-id }',
    secrets: { s: { path: 'secret/data/app' } },
    template: '{{s.password}}',
  });
  const agent = startAgent(t, ['run', '-c', cfg], { program: BUNDLE, cwd: dir });
  await agent.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running', 30_000);
  await agent.waitForLog((l) => l.msg === 'vault token renewed', 'a renewal', 15_000);
  await agent.waitForLog((l) => l.msg === 'vault login succeeded' && agent.countLogs((x) => x.msg === 'vault login succeeded') >= 2, 'a second login at max TTL', 20_000);
  t.ok(agent.countLogs((l) => l.msg === 'vault login succeeded') >= 2, 'logged in again');
  t.equal(readFileSync(join(dir, 'out/out.txt'), 'utf8'), CANARY.a);
  agent.proc.kill('SIGTERM');
  t.equal((await agent.exited).code, 0);
  assertNoLeak(t, [agent.stdout(), agent.stderr()], [...Object.values(CANARY), secretId]);

  writeFileSync(join(dir, 'secret-id'), 'not-a-secret-id-for-this-role');
  const refused = await runInit(dir, cfg);
  t.equal(refused.code, 4, refused.stderr);
  t.match(refused.problems.join('\n'), 'approle login at auth/approle/login was refused');
});

t.test('kubernetes: the service account token is reviewed by the (stub) API server; an unknown one is refused', async (t) => {
  const jwt = serviceAccountJwt(SA);
  const stub = await tokenReviewStub(t, new Map([[jwt, SA]]));
  await bao.ok('POST', 'sys/auth/kubernetes', { type: 'kubernetes' });
  await bao.ok('POST', 'auth/kubernetes/config', { kubernetes_host: stub.url, kubernetes_ca_cert: readFileSync(pki.caFile, 'utf8'), disable_local_ca_jwt: true });
  await bao.ok('POST', 'auth/kubernetes/role/erlmcp', {
    bound_service_account_names: [SA.name],
    bound_service_account_namespaces: [SA.namespace],
    token_policies: ['reader'],
    token_ttl: '1h',
  });
  const dir = agentDir(t, '');
  writeFileSync(join(dir, 'sa-token'), jwt);
  const cfg = writeAgentConfig(dir, {
    address: bao.url,
    auth: '{ method: kubernetes, role: erlmcp, jwtFile: ./sa-token }',
    secrets: { s: { path: 'secret/data/app' } },
    template: '{{s.password}}',
  });
  const ok = await runInit(dir, cfg);
  t.equal(ok.code, 0, ok.stderr);
  t.equal(readFileSync(join(dir, 'out/out.txt'), 'utf8'), CANARY.a);
  t.ok(stub.reviews >= 1, 'OpenBao asked the TokenReview stub');

  writeFileSync(join(dir, 'sa-token'), serviceAccountJwt({ ...SA, name: 'someone-else' }));
  const refused = await runInit(dir, cfg);
  t.equal(refused.code, 4, refused.stderr);
  t.match(refused.problems.join('\n'), 'kubernetes login at auth/kubernetes/login as role "erlmcp" was refused');
  assertNoLeak(t, [ok.stdout, ok.stderr, refused.stderr], [...Object.values(CANARY), jwt.split('.')[2]!]);
});
