// Vault saying "not so often": a rate limit quota's 429 is `throttled` and
// carries its Retry-After (delta-seconds, or the HTTP date older Vaults
// wrote) as retryAfterMs; a 503 with a Retry-After carries the wait only.
// Through the real transport, against the Vault fake, on reads and logins.

import t from 'tap';
import { AgentError } from '../../agent/errors.ts';
import { assertNoCanaries, signal, vaultHarness } from '../fakes/vault/harness.ts';

const VALUE = 'CANARY-throttle-4c1f07de';
const ROLE_ID = 'CANARY-roleid-throttle-81aa';
const SECRET_ID = 'CANARY-secretid-throttle-93bc';
const QUOTA = 'request path "secret/data/app": rate limit quota exceeded';
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as AgentError);
const ref = { name: 'app', spec: { path: 'secret/data/app' } };

t.test('429 from a rate limit quota: throttled, not before its Retry-After', async (t) => {
  const h = await vaultHarness(t);
  h.vault.putKv('secret/app', { v: VALUE });
  const token = h.vault.createToken({ policies: ['root'], ttl: 3600 });
  const p = await h.provider({ auth: { method: 'token', tokenFile: h.file('t', token) } });
  await p.fetch(ref, signal()); // logged in
  const base = `vault provider "vault": Vault at ${h.vault.url} is rate limiting requests (HTTP 429) while reading secret/data/app; retrying later`;
  const messages: string[] = [];

  const cases: Array<{ name: string; retryAfter?: string; ms: number | undefined; message: string }> = [
    { name: 'delta-seconds', retryAfter: '7', ms: 7000, message: `${base}, not before its Retry-After of 7 s` },
    { name: 'zero: Vault rounds a sub-second wait down', retryAfter: '0', ms: 0, message: `${base}, not before its Retry-After of 0 s` },
    { name: 'no header (response headers off, the default)', ms: undefined, message: base },
    { name: 'an unreadable header is ignored, not guessed at', retryAfter: 'soon', ms: undefined, message: base },
  ];
  for (const c of cases) {
    h.vault.failNext(429, [QUOTA], 1, c.retryAfter === undefined ? {} : { retryAfter: c.retryAfter });
    const e = await failure(p.fetch(ref, signal()));
    t.ok(e instanceof AgentError, c.name);
    t.equal(e!.code, 'unavailable', c.name);
    t.equal(e!.retryable, true, c.name);
    t.equal(e!.throttled, true, c.name);
    t.equal(e!.retryAfterMs, c.ms, c.name);
    t.equal(e!.message, c.message, c.name);
    t.equal(e!.where, 'secrets.app', c.name);
    messages.push(e!.message);
  }

  // older Vaults: Go's RFC1123 of the bucket's reset time, in UTC
  const at = new Date(Date.now() + 30_000);
  h.vault.failNext(429, [QUOTA], 1, { retryAfter: at.toUTCString().replace(/GMT$/, 'UTC') });
  const dated = await failure(p.fetch(ref, signal()));
  t.equal(dated!.throttled, true);
  t.ok(dated!.retryAfterMs! > 28_000 && dated!.retryAfterMs! <= 30_000, `an HTTP date 30 s ahead: ${dated!.retryAfterMs} ms`);
  t.equal(dated!.message, `${base}, not before its Retry-After of ${Math.ceil(dated!.retryAfterMs! / 1000)} s`);
  messages.push(dated!.message);

  t.same((await p.fetch(ref, signal())).data, { v: VALUE }, 'the next read goes through');
  assertNoCanaries(t, [VALUE, token], [...messages, ...h.logLines]);
});

t.test('503 with a Retry-After: the wait, but not throttled; other statuses ignore it', async (t) => {
  const h = await vaultHarness(t);
  h.vault.putKv('secret/app', { v: VALUE });
  const token = h.vault.createToken({ policies: ['root'], ttl: 3600 });
  const p = await h.provider({ auth: { method: 'token', tokenFile: h.file('t', token) } });
  await p.fetch(ref, signal());
  const url = h.vault.url;

  h.vault.failNext(503, ['failed to persist accessor index entry: overloaded, try again later: internal error'], 1, { retryAfter: '3' });
  const overloaded = await failure(p.fetch(ref, signal()));
  t.equal(overloaded!.code, 'unavailable');
  t.equal(overloaded!.throttled, false);
  t.equal(overloaded!.retryAfterMs, 3000);
  t.equal(
    overloaded!.message,
    `vault provider "vault": Vault at ${url} failed with HTTP 503 while reading secret/data/app: failed to persist accessor index entry: overloaded, try again later: internal error; retrying, not before its Retry-After of 3 s`,
  );

  h.vault.failNext(503, ['Vault is sealed'], 1, { retryAfter: '5' });
  const sealed = await failure(p.fetch(ref, signal()));
  t.equal(sealed!.throttled, false);
  t.equal(sealed!.retryAfterMs, 5000);
  t.equal(sealed!.message, `vault provider "vault": Vault at ${url} is sealed; requests succeed again once it is unsealed (vault operator unseal); retrying, not before its Retry-After of 5 s`);

  h.vault.failNext(500, ['internal error'], 1, { retryAfter: '9' });
  const internal = await failure(p.fetch(ref, signal()));
  t.equal(internal!.throttled, false);
  t.equal(internal!.retryAfterMs, undefined, 'a Retry-After on a 500 means nothing to us');
  t.equal(internal!.message, `vault provider "vault": Vault at ${url} failed with HTTP 500 while reading secret/data/app: internal error`);
  assertNoCanaries(t, [VALUE, token], [overloaded!.message, sealed!.message, internal!.message, ...h.logLines]);
});

t.test('a throttled login: throttled with its Retry-After, no role or secret ID in the message', async (t) => {
  const h = await vaultHarness(t);
  h.vault.putKv('secret/app', { v: VALUE });
  h.vault.addAppRole('erlmcp', { roleId: ROLE_ID, secretIds: [SECRET_ID], policies: ['root'], ttl: 900 });
  const p = await h.provider({ auth: { method: 'approle', roleIdFile: h.file('role-id', ROLE_ID), secretIdFile: h.file('secret-id', SECRET_ID) } });
  h.vault.failNext(429, ['request path "auth/approle/login": rate limit quota exceeded'], 1, { retryAfter: '2' });
  const e = await failure(p.fetch(ref, signal()));
  t.equal(e!.code, 'unavailable');
  t.equal(e!.throttled, true);
  t.equal(e!.retryAfterMs, 2000);
  t.equal(e!.message, `vault provider "vault": Vault at ${h.vault.url} is rate limiting requests (HTTP 429) while logging in at auth/approle/login; retrying later, not before its Retry-After of 2 s`);
  t.equal(e!.where, 'providers.vault.auth');
  t.same((await p.fetch(ref, signal())).data, { v: VALUE }, 'the next login goes through');
  assertNoCanaries(t, [VALUE, ROLE_ID, SECRET_ID], [e!.message, ...h.logLines]);
});
