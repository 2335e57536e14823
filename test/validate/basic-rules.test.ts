import t from 'tap';
import { validateSecret, formatProblems, problemsError } from '../../agent/validate/index.ts';
import type { ValidationContext } from '../../agent/validate/index.ts';
import type { Rule } from '../../agent/config/rules-schema.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const ctx: ValidationContext = { lookup: () => undefined, now: () => Date.parse('2026-11-29T06:00:00Z') };

function check(rules: Record<string, Rule>, data: Record<string, string>, secret = 'db') {
  return validateSecret(secret, rules, data, ctx);
}

t.test('a listed key must be present and non-empty', async (t) => {
  t.same(check({ password: {}, username: {} }, { password: 'CanaryPw-41a7', username: 'erlmcp' }), []);
  const problems = check({ password: {}, username: {} }, { username: '', passwd: 'CanaryPw-41a7' });
  t.same(problems, [
    { secret: 'db', key: 'password', rule: 'present', message: 'db.password: is missing (the secret has: passwd, username)' },
    { secret: 'db', key: 'username', rule: 'nonEmpty', message: 'db.username: is empty' },
  ]);
  t.same(check({ password: {} }, {}).map((p) => p.message), ['db.password: is missing (the secret has no keys)']);
  assertNoLeak(t, problems.map((p) => p.message), ['CanaryPw-41a7']);
});

t.test('missing-key message lists at most ten key names', async (t) => {
  const data = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'CanaryVal-77']));
  t.same(check({ password: {} }, data).map((p) => p.message), [
    'db.password: is missing (the secret has: k00, k01, k02, k03, k04, k05, k06, k07, k08, k09, and 2 more)',
  ]);
});

t.test('optional keys may be absent or empty, and are checked when set', async (t) => {
  t.same(check({ ca: { optional: true, minLength: 30 } }, {}), []);
  t.same(check({ ca: { optional: true, minLength: 30 } }, { ca: '' }), []);
  t.same(check({ ca: { optional: true, minLength: 30 } }, { ca: 'CanaryShort-19' }).map((p) => p.message), [
    'db.ca: shorter than 30 characters',
  ]);
});

t.test('minLength and maxLength count Unicode code points', async (t) => {
  // 9 code points, 10 UTF-16 units (the key emoji is a surrogate pair), 14 UTF-8 bytes
  const value = 'pässwörd🔑';
  t.same(check({ v: { minLength: 9, maxLength: 9 } }, { v: value }), []);
  t.same(check({ v: { minLength: 10 } }, { v: value }).map((p) => [p.rule, p.message]), [['minLength', 'db.v: shorter than 10 characters']]);
  t.same(check({ v: { maxLength: 8 } }, { v: value }).map((p) => [p.rule, p.message]), [['maxLength', 'db.v: longer than 8 characters']]);
  t.same(check({ v: { minLength: 1 } }, { v: '🔑' }), [], 'one emoji is one character');
  t.same(check({ v: { maxLength: 1 } }, { v: 'ab' }).map((p) => p.message), ['db.v: longer than 1 character']);
  t.same(check({ password: { minLength: 16 } }, { password: 'CanaryPw-41a7' }).map((p) => p.message), [
    'db.password: shorter than 16 characters',
  ]);
});

t.test('pattern is a Unicode RegExp, unanchored unless it anchors itself', async (t) => {
  t.same(check({ v: { pattern: '[0-9]' } }, { v: 'abc1def' }), [], 'unanchored: a digit anywhere matches');
  const anchored = check({ v: { pattern: '^[0-9]+$' } }, { v: 'CanaryDigits-123' });
  t.same(anchored.map((p) => [p.rule, p.message]), [['pattern', 'db.v: does not match the pattern ^[0-9]+$']]);
  t.same(check({ v: { pattern: '^\\p{L}+$' } }, { v: 'ünïcödé' }), [], 'the u flag enables property escapes');
  t.same(check({ v: { pattern: '^.$' } }, { v: '🔑' }), [], 'the u flag makes . a code point');
  assertNoLeak(t, anchored.map((p) => p.message), ['CanaryDigits-123']);
});

t.test('several failures are reported at once, across keys and rules', async (t) => {
  const canaries = ['CanaryCookie-Zq81', 'Canary url-Xk22', 'CanaryHex-Pz9'];
  const problems = check(
    {
      cookie: { minLength: 20, pattern: '^[A-Za-z0-9+/=_]+$' },
      url: { format: 'url' },
      key: { format: 'hex', maxLength: 4 },
      absent: {},
    },
    { cookie: canaries[0]!, url: canaries[1]!, key: canaries[2]! },
    'app',
  );
  t.same(problems.map((p) => `${p.rule} | ${p.message}`), [
    'minLength | app.cookie: shorter than 20 characters',
    'pattern | app.cookie: does not match the pattern ^[A-Za-z0-9+/=_]+$',
    'format | app.url: not a URL (contains whitespace or a control character, such as a trailing newline)',
    'maxLength | app.key: longer than 4 characters',
    'format | app.key: not hex (contains characters other than 0-9, a-f, A-F)',
    'present | app.absent: is missing (the secret has: cookie, key, url)',
  ]);
  assertNoLeak(t, problems.map((p) => p.message), canaries);
  const err = problemsError(problems);
  t.equal(err?.code, 'validation');
  t.equal(err?.problems.length, 6);
  t.match(err?.message, /^6 problems in "app": app\.absent: is missing/);
  assertNoLeak(t, [err!.message, ...err!.problems], canaries);
});

t.test('formatProblems sorts by secret and key and drops duplicates', async (t) => {
  const p = (secret: string, key: string, message: string) => ({ secret, key, message, rule: 'x' });
  t.same(formatProblems([p('db', 'user', 'db.user: is empty'), p('app', 'z', 'app.z: is empty'), p('db', 'pass', 'db.pass: is empty'), p('db', 'user', 'db.user: is empty')]), [
    'app.z: is empty',
    'db.pass: is empty',
    'db.user: is empty',
  ]);
  t.same(formatProblems([]), []);
});

t.test('problemsError: missing keys only -> missing; none -> undefined; one -> its line', async (t) => {
  t.equal(problemsError([]), undefined);
  const missing = problemsError(check({ password: {} }, {}));
  t.equal(missing?.code, 'missing');
  t.equal(missing?.message, 'db.password: is missing (the secret has no keys)');
  t.equal(missing?.where, 'db');
  const mixed = problemsError([...check({ password: {} }, {}), ...check({ u: {} }, { u: '' }, 'app')]);
  t.equal(mixed?.code, 'validation');
  t.equal(mixed?.message, '2 problems in "app", "db": app.u: is empty; db.password: is missing (the secret has no keys)');
});

t.test('rules for keys the data has no entry for do not read inherited properties', async (t) => {
  t.same(check({ toString: {} }, {}).map((p) => p.rule), ['present']);
  t.same(check({ constructor: { optional: true } }, {}), []);
});
