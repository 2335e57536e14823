// What a write that issues answered (write.ts issuedValue): the data templates
// see, the rules every issued certificate and key must pass whatever the
// config's require says, and the lifetime a re-issue is timed by. Certificates
// made with openssl; no value ever in a message.

import t from 'tap';
import { X509Certificate } from 'node:crypto';
import type { AgentError } from '../../agent/errors.ts';
import { describeWrite, issuedValue, MAX_ISSUED_BYTES, secretPartOf } from '../../agent/providers/vault/write.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { ecKeyPair, makeCertificate } from '../helpers/openssl-certs.ts';
import { agentErrorOf } from '../helpers/template-errors.ts';

const ca = makeCertificate({ days: 30, cn: 'test-ca' });
const leaf = makeCertificate({ days: 2, cn: 'erlmcp.example', issuer: ca });
// after the certificates: their NotBefore is the second they were made
const now = Date.now();
const opts = { secret: 'tls', now, fraction: 2 / 3, what: 'vault pki/issue/erlmcp (secrets.tls)' };

function answer(data: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown {
  return { request_id: 'r', lease_id: '', renewable: false, lease_duration: 0, data, ...extra };
}

const refused = (body: unknown): AgentError => agentErrorOf(() => issuedValue(body, opts));

t.test('a PKI answer: data as templates see it, timed by the certificate', async (t) => {
  const v = issuedValue(
    answer({ certificate: leaf.certPem, private_key: leaf.keyPem, issuing_ca: ca.certPem, ca_chain: [ca.certPem.trim(), ca.certPem.trim()], serial_number: '02', expiration: 1796328276, private_key_type: 'ec' }),
    opts,
  )!;
  t.equal(v.data.certificate, leaf.certPem);
  t.equal(v.data.ca_chain, `${ca.certPem.trim()}\n${ca.certPem.trim()}`, 'a list of PEMs becomes a bundle, one per line');
  t.equal(v.data.expiration, '1796328276', 'numbers as text, as for every backend');
  const cert = new X509Certificate(leaf.certPem);
  t.same(v.issued, { from: cert.validFromDate.getTime(), until: cert.validToDate.getTime(), fraction: 2 / 3, basis: 'certificate' });
  t.equal(v.lease, undefined);
  t.same(Object.keys(secretPartOf(v.data)).sort(), ['ca_chain', 'certificate', 'issuing_ca', 'private_key'], 'serial, expiration and key type are public: not scrubbed from logs');
});

t.test('what was issued must be a usable certificate and its key', async (t) => {
  const other = ecKeyPair();
  const mismatch = refused(answer({ certificate: leaf.certPem, private_key: other.privateKeyPem }));
  t.equal(mismatch.code, 'validation');
  t.match(mismatch.message, /vault pki\/issue\/erlmcp \(secrets\.tls\) issued a value that is not a usable certificate and key: tls\.private_key: does not match the certificate in tls\.certificate/);

  const expired = makeCertificate({ days: 1, cn: 'old' });
  t.ok(issuedValue(answer({ certificate: expired.certPem, private_key: expired.keyPem }), { ...opts, now: Date.now() }), 'valid now');
  const e2 = agentErrorOf(() => issuedValue(answer({ certificate: expired.certPem, private_key: expired.keyPem }), { ...opts, now: now + 3 * 86_400_000 }));
  t.match(e2.message, /tls\.certificate: expired on/);

  const noCert = refused(answer({ private_key: leaf.keyPem }));
  t.match(noCert.message, /tls\.certificate: is missing/);
  const notPem = refused(answer({ certificate: 'not a certificate', private_key: leaf.keyPem }));
  t.match(notPem.message, /tls\.certificate: not a PEM certificate/);
  const badChain = refused(answer({ certificate: leaf.certPem, private_key: leaf.keyPem, ca_chain: ['garbage'] }));
  t.match(badChain.message, /tls\.ca_chain: not a PEM certificate/);
  assertNoLeak(t, [mismatch.message, e2.message, noCert.message, notPem.message, badChain.message, ...mismatch.problems], [leaf.keyPem, other.privateKeyPem, expired.keyPem]);
});

t.test('without a certificate, lease_duration times the re-issue; with neither, nothing does', async (t) => {
  const leased = issuedValue(answer({ token: 'x' }, { lease_id: 'aws/sts/role/abc', lease_duration: 900, renewable: false }), opts)!;
  t.same(leased.issued, { from: now, until: now + 900_000, fraction: 2 / 3, basis: 'lease_duration' });
  t.equal(leased.lease?.id, 'aws/sts/role/abc', 'the lease is kept (revoked at shutdown when asked)');
  const problems: string[] = [];
  const huge = issuedValue(answer({ token: 'x' }, { lease_duration: 1e12 }), { ...opts, onProblem: (p) => problems.push(p) })!;
  t.equal(huge.issued!.until - now, 32 * 24 * 3600 * 1000, 'a lease_duration out of bounds is capped (backend-numbers.ts)');
  t.match(problems, [/lease_duration/]);
  t.equal(issuedValue(answer({ token: 'x' }), opts)!.issued, undefined, 'no certificate, no lease_duration: kept until restart');
  t.equal(issuedValue({ data: null }, opts), undefined, 'no data object: nothing (the provider says "no data")');
  t.equal(issuedValue('<html>', opts), undefined);
});

t.test('a value nested too deep is refused as for every backend', async (t) => {
  let deep: unknown = 'x';
  for (let i = 0; i < 100; i++) deep = { d: deep };
  t.match(refused(answer({ certificate: deep })).message, /nested more than 64 levels deep/);
});

t.test('an answer far larger than any issued certificate is refused before it is parsed', async (t) => {
  const chain = Array.from({ length: Math.ceil(MAX_ISSUED_BYTES / ca.certPem.length) + 1 }, () => ca.certPem);
  const e = refused(answer({ certificate: leaf.certPem, private_key: leaf.keyPem, ca_chain: chain }));
  t.equal(e.code, 'validation');
  t.match(e.message, new RegExp(`more than the ${MAX_ISSUED_BYTES} any issued certificate needs`));
  t.ok(issuedValue(answer({ certificate: leaf.certPem, private_key: leaf.keyPem, ca_chain: chain.slice(0, 20) }), opts), 'a chain of 20 is fine');
});

t.test('logs name the parameters, never their values', async (t) => {
  t.equal(describeWrite({ common_name: 'erlmcp.example', ttl: '24h' }), 'common_name, ttl');
  t.equal(describeWrite({}), 'no parameters');
});

t.test("a PKI whose clock runs a little ahead: a certificate not yet valid by the agent's clock is accepted within the skew, not refused on every issue", async (t) => {
  const from = new X509Certificate(leaf.certPem).validFromDate.getTime();
  // Vault backdates NotBefore by its role's not_before_duration (30 s by
  // default, often 0); a PKI clock 2 minutes ahead puts NotBefore in our future
  const ahead = issuedValue(answer({ certificate: leaf.certPem, private_key: leaf.keyPem, issuing_ca: ca.certPem }), { ...opts, now: from - 2 * 60_000 });
  t.equal(ahead?.issued?.from, from, 'accepted, timed by its own NotBefore');
  const farAhead = agentErrorOf(() => issuedValue(answer({ certificate: leaf.certPem, private_key: leaf.keyPem }), { ...opts, now: from - 2 * 3600_000 }));
  t.match(farAhead.message, /tls\.certificate: is not valid until/, 'a certificate valid only hours from now is still refused');
});
