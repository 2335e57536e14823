// Every way Vault can fail, through the vault provider, with the exact
// message, code and retryability each gets: sealed, rate limited, standby,
// 5xx, 4xx, unreachable, unknown host, timeout, abort, TLS (right CA, wrong
// CA, no CA, wrong name, plain HTTP), and bad settings.

import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentError } from '../../agent/errors.ts';
import { create } from '../../agent/providers/vault/provider.ts';
import { makeTestPki } from '../fakes/vault/certs.ts';
import { assertNoCanaries, signal, vaultHarness } from '../fakes/vault/harness.ts';
import { startVaultFake } from '../fakes/vault/index.ts';

const VALUE = 'CANARY-failures-6d2b91aa';
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as AgentError);
const ref = { name: 'app', spec: { path: 'secret/data/app' } };

t.test('sealed, rate limited, standby, 5xx: unavailable and retryable', async (t) => {
  const h = await vaultHarness(t);
  h.vault.putKv('secret/app', { v: VALUE });
  const p = await h.tokenProvider(['root']);
  await p.fetch(ref, signal()); // logged in
  const url = h.vault.url;

  const cases: Array<[() => void, string]> = [
    [() => h.vault.setMode('sealed'), `vault provider "vault": Vault at ${url} is sealed; requests succeed again once it is unsealed (vault operator unseal)`],
    [() => h.vault.setMode('rate-limited'), `vault provider "vault": Vault at ${url} is rate limiting requests (HTTP 429) while reading secret/data/app; retrying later, not before its Retry-After of 1 s`],
    [
      () => h.vault.setMode('standby'),
      `vault provider "vault": Vault at ${url} is a performance standby node (HTTP 473) and did not serve reading secret/data/app; point address at the active node or at the cluster's load balancer`,
    ],
    [() => (h.vault.setMode('active'), h.vault.failNext(500, ['internal error'])), `vault provider "vault": Vault at ${url} failed with HTTP 500 while reading secret/data/app: internal error`],
    [() => h.vault.failNext(502), `vault provider "vault": Vault at ${url} failed with HTTP 502 while reading secret/data/app`],
    [() => h.vault.failNext(503, ['local node not active but active cluster node not found']), `vault provider "vault": Vault at ${url} failed with HTTP 503 while reading secret/data/app: local node not active but active cluster node not found`],
    [() => h.vault.failNext(412, []), `vault provider "vault": Vault at ${url} has not yet replicated the state needed for reading secret/data/app (HTTP 412); retrying`],
  ];
  const messages: string[] = [];
  for (const [arrange, message] of cases) {
    arrange();
    const e = await failure(p.fetch(ref, signal()));
    t.ok(e instanceof AgentError, message);
    t.equal(e!.code, 'unavailable');
    t.equal(e!.retryable, true);
    t.equal(e!.message, message);
    t.equal(e!.where, 'secrets.app');
    t.equal(e!.provider, 'vault');
    t.equal(e!.throttled, e!.message.includes('HTTP 429'), 'throttled only by a rate limit');
    messages.push(e!.message);
  }
  h.vault.setMode('active');
  t.same((await p.fetch(ref, signal())).data, { v: VALUE }, 'recovers once Vault does');
  assertNoCanaries(t, [VALUE], [...messages, ...h.logLines]);
});

t.test("Vault's error text is quoted without the token or credentials it might echo", async (t) => {
  const h = await vaultHarness(t);
  const token = h.vault.createToken({ policies: ['root'], ttl: 3600 });
  const p = await h.provider({ auth: { method: 'token', tokenFile: h.file('t', token) } });
  h.vault.putKv('secret/app', { v: VALUE });
  await p.fetch(ref, signal());
  h.vault.failNext(500, [`1 error occurred:\n\t* storage failure for token ${token}\n\n`]);
  const e = await failure(p.fetch(ref, signal()));
  t.equal(e!.message, `vault provider "vault": Vault at ${h.vault.url} failed with HTTP 500 while reading secret/data/app: storage failure for token [REDACTED]`);
});

t.test('4xx on reads: 400 is missing with Vault\'s reason, 405 is a config error', async (t) => {
  const h = await vaultHarness(t);
  h.vault.addDatabaseRole('erlmcp', { ttl: 60, maxTtl: 60 });
  const p = await h.tokenProvider(['root']);
  const unknownRole = await failure(p.fetch({ name: 'db', spec: { path: 'database/creds/nope' } }, signal()));
  t.equal(unknownRole!.code, 'missing');
  t.equal(unknownRole!.message, `vault provider "vault": Vault at ${h.vault.url} refused reading database/creds/nope: unknown role: nope`);
  const notReadable = await failure(p.fetch({ name: 'x', spec: { path: 'sys/leases/renew' } }, signal()));
  t.equal(notReadable!.code, 'config');
  t.equal(notReadable!.message, `vault provider "vault": Vault at ${h.vault.url} does not support reading sys/leases/renew (HTTP 405): check secrets.x`);
  const noHandler = await failure(p.fetch({ name: 'x', spec: { path: 'nomount/x' } }, signal()));
  t.equal(noHandler!.code, 'missing');
  t.equal(noHandler!.message, 'vault provider "vault": no secret at nomount/x');
});

t.test('unreachable, unknown host, timeout, abort', async (t) => {
  const h = await vaultHarness(t);
  const token = h.file('t', h.vault.rootToken);
  h.vault.putKv('secret/app', { v: VALUE });

  const gone = await startVaultFake();
  const goneUrl = gone.url;
  await gone.close();
  const refused = await create('vault', { type: 'vault', address: goneUrl, auth: { method: 'token', tokenFile: token } }, h.ctx);
  t.teardown(() => refused.close());
  const e1 = await failure(refused.fetch(ref, signal()));
  t.same([e1!.code, e1!.retryable], ['unavailable', true]);
  t.equal(e1!.message, `vault provider "vault": cannot reach Vault at ${goneUrl}: connection refused (ECONNREFUSED) while looking up the Vault token; is Vault running there?`);
  t.same(e1!.cause, { code: 'ECONNREFUSED' }, 'the cause keeps the code only: axios errors carry the token header');

  const nohost = await create('vault', { type: 'vault', address: 'http://vault.invalid:8200', auth: { method: 'token', tokenFile: token } }, h.ctx);
  t.teardown(() => nohost.close());
  const e2 = await failure(nohost.fetch(ref, signal()));
  t.same([e2!.code, e2!.retryable], ['unavailable', true]);
  t.equal(e2!.message, 'vault provider "vault": cannot reach Vault at http://vault.invalid:8200: host vault.invalid not found (ENOTFOUND); check address');

  const slow = await h.provider({ timeout: '200ms', auth: { method: 'token', tokenFile: token } });
  await slow.fetch(ref, signal());
  h.vault.setDelay(1000);
  const e3 = await failure(slow.fetch(ref, signal()));
  t.same([e3!.code, e3!.retryable], ['unavailable', true]);
  t.equal(e3!.message, `vault provider "vault": Vault at ${h.vault.url} did not answer within 0.2s while reading secret/data/app`);

  const p = await h.provider({ auth: { method: 'token', tokenFile: token } });
  h.vault.setDelay(0);
  await p.fetch(ref, signal());
  h.vault.setDelay(500);
  const ours = new AgentError('timeout', 'init.timeout of 2m ran out');
  const ac = new AbortController();
  setTimeout(() => ac.abort(ours), 50);
  t.equal(await failure(p.fetch(ref, ac.signal)), ours, "the caller's AgentError reason is kept");
  const ac2 = new AbortController();
  setTimeout(() => ac2.abort(), 50);
  const e4 = await failure(p.fetch(ref, ac2.signal));
  t.same([e4!.code, e4!.message], ['timeout', `vault provider "vault": reading secret/data/app was cancelled before Vault at ${h.vault.url} answered`]);
  const pre = new AbortController();
  pre.abort();
  t.equal((await failure(p.fetch(ref, pre.signal)))!.code, 'timeout', 'an already aborted signal sends nothing');
  h.vault.setDelay(0);
});

t.test('TLS: the configured CA verifies Vault; a wrong or missing CA fails permanently, naming tls.caFile', async (t) => {
  const pki = makeTestPki();
  t.teardown(() => pki.cleanup());
  const h = await vaultHarness(t, { tls: { cert: pki.cert, key: pki.key } });
  h.vault.putKv('secret/app', { v: VALUE });
  const tokenFile = h.file('t', h.vault.rootToken);

  const good = await h.provider({ tls: { caFile: pki.caFile }, auth: { method: 'token', tokenFile } });
  t.same((await good.fetch(ref, signal())).data, { v: VALUE }, 'verified against tls.caFile');
  const named = await h.provider({ tls: { caFile: pki.caFile, serverName: 'vault.test' }, auth: { method: 'token', tokenFile } });
  t.same((await named.fetch(ref, signal())).data, { v: VALUE }, 'verified against tls.serverName');

  const wrong = await h.provider({ tls: { caFile: pki.otherCaFile }, auth: { method: 'token', tokenFile } });
  const e1 = await failure(wrong.fetch(ref, signal()));
  t.equal(e1!.code, 'unavailable');
  t.equal(e1!.retryable, false, 'a wrong CA does not fix itself');
  t.equal(
    e1!.message,
    `vault provider "vault": cannot verify the TLS certificate of Vault at ${h.vault.url} (UNABLE_TO_VERIFY_LEAF_SIGNATURE): check that tls.caFile (${pki.otherCaFile}) holds the CA that signed Vault's certificate`,
  );

  const none = await h.provider({ auth: { method: 'token', tokenFile } });
  const e2 = await failure(none.fetch(ref, signal()));
  t.equal(e2!.message, `vault provider "vault": cannot verify the TLS certificate of Vault at ${h.vault.url} (UNABLE_TO_VERIFY_LEAF_SIGNATURE): set tls.caFile to the CA that signed Vault's certificate`);

  const badName = await h.provider({ tls: { caFile: pki.caFile, serverName: 'other.test' }, auth: { method: 'token', tokenFile } });
  const e3 = await failure(badName.fetch(ref, signal()));
  t.equal(e3!.retryable, false);
  t.equal(
    e3!.message,
    `vault provider "vault": cannot verify the TLS certificate of Vault at ${h.vault.url} (ERR_TLS_CERT_ALTNAME_INVALID): the certificate does not name 127.0.0.1; use an address that matches it, or set tls.serverName to a name the certificate carries`,
  );

  const insecure = await h.provider({ tls: { insecureSkipVerify: true }, auth: { method: 'token', tokenFile } });
  t.same((await insecure.fetch(ref, signal())).data, { v: VALUE });
  t.ok(h.logLines.some((l) => l.includes('tls.insecureSkipVerify is on')), 'and it warns');

  // the fake's TLS port answers plain HTTP as Vault (Go) does: 400, text
  const plainUrl = h.vault.url.replace('https:', 'http:');
  const plain = await create('vault', { type: 'vault', address: plainUrl, auth: { method: 'token', tokenFile } }, h.ctx);
  t.teardown(() => plain.close());
  const e4 = (await failure(plain.fetch(ref, signal())))!;
  t.same([e4.code, e4.retryable], ['unavailable', false]);
  t.equal(
    e4.message,
    `vault provider "vault": Vault at ${plainUrl} listens with TLS (it answered "Client sent an HTTP request to an HTTPS server"), but address says http://; use ${h.vault.url} (with tls.caFile for its CA)`,
  );
  assertNoCanaries(t, [VALUE, h.vault.rootToken], [e1!.message, e2!.message, e3!.message, e4.message, ...h.logLines]);
});

t.test('TLS: https to a plain HTTP Vault', async (t) => {
  const h = await vaultHarness(t);
  const p = await h.provider({ address: h.vault.url.replace('http:', 'https:'), auth: { method: 'token', tokenFile: h.file('t', h.vault.rootToken) } });
  const e = await failure(p.fetch(ref, signal()));
  t.equal(e!.retryable, false);
  t.match(e!.message, /^vault provider "vault": TLS handshake with Vault at https:\/\/127\.0\.0\.1:\d+ failed \((EPROTO|ERR_SSL_WRONG_VERSION_NUMBER)\): does the server speak https on that port\?$/);
});

t.test('bad settings are config errors at create()', async (t) => {
  const h = await vaultHarness(t);
  const bad = async (settings: Record<string, unknown>) => failure(create('vault', settings, h.ctx));
  const base = { type: 'vault', address: h.vault.url, auth: { method: 'token', tokenFile: 't' } };

  const noCa = await bad({ ...base, tls: { caFile: 'missing-ca.pem' } });
  t.equal(noCa!.code, 'config');
  t.equal(noCa!.message, `vault provider "vault": cannot read tls.caFile ${join(h.dir, 'missing-ca.pem')} (ENOENT)`);
  t.equal(noCa!.where, 'providers.vault.tls.caFile');
  writeFileSync(join(h.dir, 'not-pem'), 'hello');
  t.equal((await bad({ ...base, tls: { caFile: 'not-pem' } }))!.message, `vault provider "vault": tls.caFile ${join(h.dir, 'not-pem')} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)`);

  const e = await bad({ type: 'vault', address: 'vault:8200', auth: { method: 'ldap' }, timeout: 'soon' });
  t.equal(e!.code, 'config');
  t.same(e!.problems, [
    'providers.vault.address: address must be an http:// or https:// URL, e.g. https://vault.vault.svc:8200',
    'providers.vault.auth.method: must be one of token, kubernetes, approle, jwt, cert',
    'providers.vault.timeout: must be a duration like 10s or 1m',
  ]);
  const k8s = await bad({ type: 'vault', address: h.vault.url, auth: { method: 'kubernetes' } });
  t.same(k8s!.problems, ['providers.vault.auth.role: required (expected string)']);
  const approle = await bad({ type: 'vault', address: h.vault.url, auth: { method: 'approle', roleIdFile: '' } });
  t.same(approle!.problems, ['providers.vault.auth.roleIdFile: must name a file', 'providers.vault.auth.secretIdFile: required (expected string)']);
  const typo = await bad({ ...base, namepsace: 'x' });
  t.same(typo!.problems, ['providers.vault.namepsace: unknown key']);
});
