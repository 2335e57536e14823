import t from 'tap';
import { randomBytes } from 'node:crypto';
import { validateSecret } from '../../agent/validate/index.ts';
import type { Rule } from '../../agent/config/rules-schema.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const ctx = { lookup: () => undefined, now: () => Date.now() };
const messages = (rule: Rule, value: string) => validateSecret('app', { k: rule }, { k: value }, ctx).map((p) => `${p.rule} | ${p.message}`);

t.test('base64: standard and URL-safe, padded or not, decoded length from bytes/minBytes', async (t) => {
  const key = randomBytes(32);
  const std = key.toString('base64');
  const url = key.toString('base64url');
  t.same(messages({ format: 'base64', bytes: 32 }, std), [], 'standard, padded');
  t.same(messages({ format: 'base64', bytes: 32 }, url), [], 'url-safe, unpadded');
  t.same(messages({ format: 'base64', bytes: 32 }, std.replace(/=+$/, '')), [], 'standard without padding');
  for (const n of [1, 2, 3, 4, 5, 16, 31]) {
    const b = randomBytes(n);
    t.same(messages({ format: 'base64', bytes: n }, b.toString('base64')), [], `${n} bytes padded`);
    t.same(messages({ format: 'base64', bytes: n }, b.toString('base64url')), [], `${n} bytes unpadded`);
  }
  t.same(messages({ format: 'base64', bytes: 32 }, randomBytes(24).toString('base64')), ['bytes | app.k: decodes to fewer bytes than the required 32']);
  t.same(messages({ format: 'base64', bytes: 16 }, randomBytes(24).toString('base64')), ['bytes | app.k: decodes to more bytes than the required 16']);
  t.same(messages({ format: 'base64', minBytes: 32 }, randomBytes(31).toString('base64')), ['minBytes | app.k: decodes to fewer than 32 bytes']);
  t.same(messages({ format: 'base64', minBytes: 32 }, randomBytes(64).toString('base64')), []);
});

t.test('base64: every malformed shape has its own message and none echoes the value', async (t) => {
  const cases: Array<[string, string]> = [
    ['Q2FuYXJ5LWJhc2U2NA==\n', 'format | app.k: not base64 (contains whitespace or a line break)'],
    ['Q2FuYXJ5 LWJhc2U2NA==', 'format | app.k: not base64 (contains whitespace or a line break)'],
    ['Q2FuYXJ5+LWJh_c2U2NA', 'format | app.k: not base64 (mixes the standard "+/" and URL-safe "-_" alphabets)'],
    ['Q2FuYXJ5*LWJhc2U2NA', 'format | app.k: not base64 (contains characters outside the base64 alphabet)'],
    ['Q2FuYXJ5LWJhc2U2NA=x', 'format | app.k: not base64 ("=" padding is misplaced or does not complete the last group of 4)'],
    ['Q2FuYXJ5LWJhc2U2NA===', 'format | app.k: not base64 ("=" padding is misplaced or does not complete the last group of 4)'],
    ['Q2FuYXJ5LWJhc2U2N=', 'format | app.k: not base64 ("=" padding is misplaced or does not complete the last group of 4)'],
    ['Q2FuYXJ5LWJhc2U2NAAA=', 'format | app.k: not base64 ("=" padding is misplaced or does not complete the last group of 4)'],
    ['Q2FuYXJ5LWJhc2U2NAAAA', 'format | app.k: not base64 (its length cannot be a base64 encoding)'],
  ];
  for (const [value, expected] of cases) {
    const got = messages({ format: 'base64', bytes: 13 }, value);
    t.same(got, [expected], JSON.stringify(value));
    assertNoLeak(t, got, [value.trim()], 6);
  }
});

t.test('hex: even number of hex digits, decoded length', async (t) => {
  const key = randomBytes(16).toString('hex');
  t.same(messages({ format: 'hex', bytes: 16 }, key), []);
  t.same(messages({ format: 'hex', bytes: 16 }, key.toUpperCase()), [], 'upper case is fine');
  t.same(messages({ format: 'hex', minBytes: 32 }, key), ['minBytes | app.k: decodes to fewer than 32 bytes']);
  t.same(messages({ format: 'hex', bytes: 8 }, key), ['bytes | app.k: decodes to more bytes than the required 8']);
  const bad = ['0xCAFEBABE1234', 'cafe babe1234', 'CanaryHexZ0ff'];
  for (const v of bad) {
    const got = messages({ format: 'hex' }, v);
    t.same(got, ['format | app.k: not hex (contains characters other than 0-9, a-f, A-F)'], v);
    assertNoLeak(t, got, [v], 6);
  }
  t.same(messages({ format: 'hex' }, 'cafebabe1'), ['format | app.k: not hex (odd number of digits)']);
});

t.test('url: WHATWG URL with a scheme', async (t) => {
  t.same(messages({ format: 'url' }, 'postgres://erlmcp:CanaryPw-9@db.internal:5432/erlmcp?sslmode=require'), []);
  t.same(messages({ format: 'url' }, 'https://vault.vault.svc:8200'), []);
  t.same(messages({ format: 'url' }, 'file:///etc/erlmcp/ca.pem'), [], 'an empty host is fine when the form is scheme://');
  const spaced = messages({ format: 'url' }, 'https://exa mple.com/CanaryPath');
  t.same(spaced, ['format | app.k: not a URL (contains whitespace or a control character, such as a trailing newline)'], 'a space is named');
  assertNoLeak(t, spaced, ['CanaryPath']);
  for (const v of ['db.internal:5432/CanaryPath', 'mailto:CanaryPath@example.com', '//host/CanaryPath', 'http://[::1/CanaryPath']) {
    const got = messages({ format: 'url' }, v);
    t.same(got, ['format | app.k: not a URL (it needs a scheme, like https://host/path)'], v);
    assertNoLeak(t, got, ['CanaryPath']);
  }
});

t.test('json: must parse; the parser message (which quotes input) is not passed on', async (t) => {
  t.same(messages({ format: 'json' }, '{"type":"service_account","private_key":"CanaryJsonKey"}'), []);
  t.same(messages({ format: 'json' }, '"just a string"'), []);
  const broken = '{"type":"service_account", CanaryJsonKey: 1}';
  const got = messages({ format: 'json' }, broken);
  t.same(got, ['format | app.k: not valid JSON']);
  assertNoLeak(t, got, ['CanaryJsonKey']);
});

t.test('bytes without a byte format is ignored rather than guessed', async (t) => {
  t.same(messages({ bytes: 32 }, 'CanaryPlain'), []);
});
