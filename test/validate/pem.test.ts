import t from 'tap';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { validateSecret } from '../../agent/validate/index.ts';
import type { ValidationContext } from '../../agent/validate/index.ts';
import type { Rule } from '../../agent/config/rules-schema.ts';
import { NOT_BEFORE_SKEW_MS } from '../../agent/validate/pem-certificate.ts';
import { ecKeyPair, makeCertificate } from '../helpers/openssl-certs.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const DAY = 86_400_000;
const iso = (d: Date) => d.toISOString().slice(0, 10);

/** the base64 lines of a PEM: the part that is secret (for a key) or at least not ours to echo */
const pemBody = (pem: string) => pem.split('\n').filter((l) => l && !l.startsWith('-----'));

function run(rule: Rule, value: string, now: number, others: Record<string, Record<string, string>> = {}) {
  const ctx: ValidationContext = { lookup: (s, k) => others[s]?.[k], now: () => now };
  return validateSecret('tls', { v: rule }, { v: value }, ctx).map((p) => `${p.rule} | ${p.message}`);
}

const leaf = makeCertificate({ days: 90, cn: 'erlmcp.test' });
const leafX509 = new X509Certificate(leaf.certPem);
const shortLived = makeCertificate({ days: 3 });
const shortX509 = new X509Certificate(shortLived.certPem);

t.test('a valid certificate passes, with or without expiresInMoreThanDays', async (t) => {
  t.same(run({ format: 'pem-certificate' }, leaf.certPem, Date.now()), []);
  t.same(run({ format: 'pem-certificate', expiresInMoreThanDays: 30 }, leaf.certPem, Date.now()), []);
});

t.test('a certificate that expires too soon names its expiry date and the requirement', async (t) => {
  const now = shortX509.validFromDate.getTime(); // exactly 3 days before validTo
  const got = run({ format: 'pem-certificate', expiresInMoreThanDays: 30 }, shortLived.certPem, now);
  t.same(got, [`expiresInMoreThanDays | tls.v: expires in 3 days (${iso(shortX509.validToDate)}), less than the required 30`]);
  t.same(run({ format: 'pem-certificate', expiresInMoreThanDays: 2 }, shortLived.certPem, now), [], '3 days left, 2 required');
  t.same(run({ format: 'pem-certificate', expiresInMoreThanDays: 1 }, shortLived.certPem, shortX509.validToDate.getTime() - DAY - 1), []);
  t.same(run({ format: 'pem-certificate', expiresInMoreThanDays: 2 }, shortLived.certPem, shortX509.validToDate.getTime() - DAY - 1),
    [`expiresInMoreThanDays | tls.v: expires in 1 day (${iso(shortX509.validToDate)}), less than the required 2`]);
  t.same(run({ format: 'pem-certificate', expiresInMoreThanDays: 1 }, shortLived.certPem, shortX509.validToDate.getTime() - 60_000),
    [`expiresInMoreThanDays | tls.v: expires in less than a day (${iso(shortX509.validToDate)}), less than the required 1`]);
  // the real clock: generated moments ago with -days 3, so 2 whole days and some hours remain
  t.same(run({ format: 'pem-certificate', expiresInMoreThanDays: 30 }, shortLived.certPem, Date.now()),
    [`expiresInMoreThanDays | tls.v: expires in 2 days (${iso(shortX509.validToDate)}), less than the required 30`]);
});

t.test('expired and not-yet-valid certificates fail the format rule, with their dates', async (t) => {
  t.same(run({ format: 'pem-certificate' }, leaf.certPem, leafX509.validToDate.getTime() + DAY),
    [`format | tls.v: expired on ${iso(leafX509.validToDate)}`]);
  t.same(run({ format: 'pem-certificate', expiresInMoreThanDays: 30 }, leaf.certPem, leafX509.validToDate.getTime() + 1),
    [`format | tls.v: expired on ${iso(leafX509.validToDate)}`], 'expired is reported as expired, not as "expires in -0 days"');
  t.same(run({ format: 'pem-certificate' }, leaf.certPem, leafX509.validFromDate.getTime() - DAY),
    [`format | tls.v: is not valid until ${iso(leafX509.validFromDate)}`]);
});

t.test('chains: every certificate is checked and named by position', async (t) => {
  const ca = makeCertificate({ days: 10, cn: 'erlmcp-test-ca' });
  const caX509 = new X509Certificate(ca.certPem);
  const issued = makeCertificate({ days: 60, issuer: { certPem: ca.certPem, keyPem: ca.keyPem } });
  const chain = issued.certPem + ca.certPem;
  t.same(run({ format: 'pem-certificate' }, chain, Date.now()), []);
  // "now" is when both are valid: the leaf is made after the CA, and its
  // notBefore can be a second later on a loaded machine (the leaf then read as
  // "not valid until"); the days left follow from that same instant
  const issuedFrom = new X509Certificate(issued.certPem).validFromDate.getTime();
  t.same(run({ format: 'pem-certificate', expiresInMoreThanDays: 30 }, chain, Math.max(issuedFrom, caX509.validFromDate.getTime())),
    [`expiresInMoreThanDays | tls.v: certificate 2 of 2 expires in ${Math.floor((caX509.validToDate.getTime() - Math.max(issuedFrom, caX509.validFromDate.getTime())) / DAY)} days (${iso(caX509.validToDate)}), less than the required 30`]);
  const after = caX509.validToDate.getTime() + DAY;
  t.same(run({ format: 'pem-certificate' }, chain, after), [`format | tls.v: certificate 2 of 2 expired on ${iso(caX509.validToDate)}`]);
  const broken = issued.certPem + ca.certPem.replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA');
  t.same(run({ format: 'pem-certificate' }, broken, Date.now()), ['format | tls.v: not a PEM certificate: certificate 2 of 2 does not parse as X.509']);
});

t.test('things that are not certificates', async (t) => {
  const cases: Array<[string, string]> = [
    ['CanaryNotPem-zq7Xw9Kd', 'format | tls.v: not a PEM certificate: no BEGIN CERTIFICATE block'],
    [leaf.keyPem, 'format | tls.v: not a PEM certificate: no BEGIN CERTIFICATE block (it holds a private key)'],
    [leaf.certPem.replace(/\n[A-Za-z0-9+/]{30}/, '\nCanaryCorruptCrtBodyZq8Xw1Ty7L'), 'format | tls.v: not a PEM certificate: does not parse as X.509'],
  ];
  for (const [value, expected] of cases) {
    const got = run({ format: 'pem-certificate' }, value, Date.now());
    t.same(got, [expected]);
    assertNoLeak(t, got, [...pemBody(value), 'CanaryNotPem', 'CanaryCorrupt']);
  }
});

t.test('pem-private-key: plain keys pass, encrypted keys and wrong PEM types are named', async (t) => {
  t.same(run({ format: 'pem-private-key' }, leaf.keyPem, Date.now()), []);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  t.same(run({ format: 'pem-private-key' }, rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), Date.now()), [], 'PKCS#1 RSA');
  const encrypted = 'format | tls.v: is an encrypted (passphrase-protected) private key, which the agent cannot use; store it decrypted (openssl pkey -in key.pem -out plain.pem)';
  const pkcs8Encrypted = rsa.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'CanaryPhr-Qx81tZ' }).toString();
  const legacyEncrypted = rsa.privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'CanaryPhr-Qx81tZ' }).toString();
  t.match(pkcs8Encrypted, /BEGIN ENCRYPTED PRIVATE KEY/);
  t.match(legacyEncrypted, /Proc-Type: 4,ENCRYPTED/);
  const cases: Array<[string, string]> = [
    [pkcs8Encrypted, encrypted],
    [legacyEncrypted, encrypted],
    [leaf.certPem, 'format | tls.v: not a PEM private key: no BEGIN PRIVATE KEY block (it holds a certificate)'],
    [ecKeyPair().publicKeyPem, 'format | tls.v: not a PEM private key: no BEGIN PRIVATE KEY block (it holds a public key)'],
    ['CanaryNotAKey-value', 'format | tls.v: not a PEM private key: no BEGIN PRIVATE KEY block'],
    [leaf.keyPem.replace(/\n[A-Za-z0-9+/]{30}/, '\nCanaryCorruptKeyBody0000000000'), 'format | tls.v: not a PEM private key: the PRIVATE KEY block does not parse'],
  ];
  for (const [value, expected] of cases) {
    const got = run({ format: 'pem-private-key' }, value, Date.now());
    t.same(got, [expected]);
    assertNoLeak(t, got, [...pemBody(value), 'CanaryPhr-Qx81tZ', 'CanaryNotAKey', 'CanaryCorrupt']);
  }
});

t.test('matchesCertificate: the key must be the certificate\'s', async (t) => {
  const other = makeCertificate({ days: 30 });
  const ingress = { tls: { crt: leaf.certPem, junk: 'CanaryJunkCert-value' } };
  t.same(run({ format: 'pem-private-key', matchesCertificate: 'tls.crt' }, leaf.keyPem, Date.now(), ingress), []);
  t.same(run({ matchesCertificate: 'tls.crt' }, leaf.keyPem, Date.now(), ingress), [], 'implies pem-private-key');
  const chain = { tls: { crt: leaf.certPem + other.certPem } };
  t.same(run({ matchesCertificate: 'tls.crt' }, leaf.keyPem, Date.now(), chain), [], 'the leaf (first) certificate counts');
  t.same(run({ matchesCertificate: 'tls.crt' }, other.keyPem, Date.now(), chain),
    ['matchesCertificate | tls.v: does not match the certificate in tls.crt (their public keys differ)']);
  const mismatch = run({ matchesCertificate: 'tls.crt' }, other.keyPem, Date.now(), ingress);
  t.same(mismatch, ['matchesCertificate | tls.v: does not match the certificate in tls.crt (their public keys differ)']);
  t.same(run({ matchesCertificate: 'tls.crt' }, leaf.keyPem, Date.now(), {}),
    ['matchesCertificate | tls.v: matchesCertificate names tls.crt, which does not exist']);
  t.same(run({ matchesCertificate: 'tls.junk' }, leaf.keyPem, Date.now(), ingress),
    ['matchesCertificate | tls.v: cannot check matchesCertificate: tls.junk is not a PEM certificate: no BEGIN CERTIFICATE block']);
  t.same(run({ matchesCertificate: 'tls.crt' }, 'CanaryNotAKey-value', Date.now(), ingress),
    ['format | tls.v: not a PEM private key: no BEGIN PRIVATE KEY block'], 'an unusable key is one problem, not two');
  assertNoLeak(t, mismatch, [...pemBody(other.keyPem), ...pemBody(leaf.certPem)]);
});

t.test('matchesCertificate looks up the other secret and key by splitting at the first dot', async (t) => {
  const asked: string[] = [];
  const ctx: ValidationContext = { lookup: (s, k) => { asked.push(`${s} / ${k}`); return leaf.certPem; }, now: () => Date.now() };
  t.same(validateSecret('app', { key: { matchesCertificate: 'ingress.tls.crt' } }, { key: leaf.keyPem }, ctx), []);
  t.same(asked, ['ingress / tls.crt']);
});

t.test('a secret with a certificate and a key, everything wrong at once, leaks nothing', async (t) => {
  const other = makeCertificate({ days: 3 });
  const rules: Record<string, Rule> = {
    'crt': { format: 'pem-certificate', expiresInMoreThanDays: 30 },
    'key': { format: 'pem-private-key', matchesCertificate: 'tls.crt' },
  };
  const data = { crt: other.certPem, key: leaf.keyPem };
  const ctx: ValidationContext = { lookup: (s, k) => (s === 'tls' ? data[k as keyof typeof data] : undefined), now: () => Date.now() };
  const problems = validateSecret('tls', rules, data, ctx);
  t.same(problems.map((p) => p.rule), ['expiresInMoreThanDays', 'matchesCertificate']);
  assertNoLeak(t, problems.map((p) => p.message), [...pemBody(other.certPem), ...pemBody(leaf.keyPem)]);
});

t.test("a NotBefore a few minutes ahead is the issuer's clock, not a certificate for later", async (t) => {
  const from = leafX509.validFromDate.getTime();
  t.same(run({ format: 'pem-certificate' }, leaf.certPem, from - NOT_BEFORE_SKEW_MS), [], 'at the skew allowed: valid');
  t.same(run({ format: 'pem-certificate' }, leaf.certPem, from - NOT_BEFORE_SKEW_MS - 1000), [`format | tls.v: is not valid until ${iso(leafX509.validFromDate)}`], 'beyond it: refused');
});
