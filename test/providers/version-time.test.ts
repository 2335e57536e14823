// Creation times from backends as hostile input: only a believable past
// time is an age; the future, before 2000, unparseable text, numbers too
// large for a Date and odd shapes are "unknown", with a problem that never
// carries more than 40 characters of what was sent.

import t from 'tap';
import { CLOCK_SKEW_MS, timestampMs, versionTime } from '../../agent/providers/version-time.ts';
import { formatAge, rotationAge } from '../../agent/pipeline/rotation-age.ts';
import type { SecretConfig } from '../../agent/config/load.ts';

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);

t.test('believable times', async (t) => {
  t.same(versionTime('2026-09-01T10:00:00.123456789Z', NOW), { at: Date.UTC(2026, 8, 1, 10, 0, 0, 123) }, "Vault's nanoseconds");
  t.same(versionTime('2026-09-01T12:00:00+02:00', NOW), { at: Date.UTC(2026, 8, 1, 10) }, 'an offset');
  t.same(versionTime(new Date(NOW - 1000), NOW), { at: NOW - 1000 }, 'a Date (AWS, Azure)');
  t.same(versionTime(NOW - 5000, NOW), { at: NOW - 5000 }, 'epoch ms (an mtime)');
  t.same(versionTime(NOW + CLOCK_SKEW_MS - 1, NOW), { at: NOW }, 'a little ahead: clock skew, taken as now');
  t.same(versionTime(undefined, NOW), {}, 'not said: unknown, no problem');
  t.same(versionTime('', NOW), {}, 'empty: unknown, no problem');
});

t.test('hostile times are unknown, with a bounded problem', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    ['2099-01-01T00:00:00Z', /in the future/],
    [new Date(NOW + 3600_000), /in the future/],
    [NOW + 10 * CLOCK_SKEW_MS, /in the future/],
    ['1970-01-01T00:00:00Z', /before 2000/],
    [0, /before 2000/],
    [-1e15, /before 2000/],
    // beyond a Date's range (±8.64e15 ms) on the past side: toISOString threw a RangeError
    [-1e20, /before 2000|not a time/],
    [-Number.MAX_VALUE, /before 2000|not a time/],
    // a GCP createTime whose seconds are 15 digits below zero (timestampMs lets them through)
    [timestampMs({ seconds: '-999999999999999' }), /before 2000|not a time/],
    [1e300, /not a time|in the future/],
    [Infinity, /not a time/],
    [NaN, /not a time/],
    ['yesterday', /not a time/],
    ['1', /not a time/],
    ['2026-13-45T99:99:99Z', /not a time/],
    ['2026-01-01T00:00:00Z' + 'x'.repeat(100_000), /not a time/],
    [new Date(NaN), /not a time/],
    [{ seconds: 1 }, /not a time/],
    [['2026-01-01T00:00:00Z'], /not a time/],
    [true, /not a time/],
  ];
  for (const [raw, problem] of cases) {
    const r = versionTime(raw, NOW);
    t.equal(r.at, undefined, `${String(raw).slice(0, 30)}: no age`);
    t.match(r.problem, problem);
    t.ok((r.problem ?? '').length < 160, 'the problem stays short');
  }
});

t.test('protobuf timestamps', async (t) => {
  t.equal(timestampMs({ seconds: 1_700_000_000, nanos: 500_000_000 }), 1_700_000_000_500);
  t.equal(timestampMs({ seconds: '1700000000', nanos: 0 }), 1_700_000_000_000, 'seconds as a string (Long as text)');
  t.ok(Number.isNaN(timestampMs({ seconds: 'soon' })));
  t.ok(Number.isNaN(timestampMs(undefined)));
  t.ok(Number.isNaN(timestampMs({ seconds: '9'.repeat(30) })), 'a string too long for a safe number');
});

t.test('rotation age and its wording', async (t) => {
  const secret = (maxAgeMs?: number): SecretConfig => ({ name: 'db', provider: 'p', providerType: 'file', spec: {}, require: {}, requireDeclared: false, ...(maxAgeMs !== undefined ? { maxAgeMs } : {}) });
  const day = 86_400_000;
  t.equal(rotationAge(secret(), { data: {}, createdAt: NOW - 400 * day }, NOW), undefined, 'no maxAge: no policy');
  t.same(rotationAge(secret(90 * day), { data: {} }, NOW), { secret: 'db', maxAgeMs: 90 * day, overdue: false }, 'unknown age: not overdue');
  t.equal(rotationAge(secret(90 * day), { data: {}, createdAt: NOW - 91 * day }, NOW)?.overdue, true);
  t.equal(rotationAge(secret(90 * day), { data: {}, createdAt: NOW - 89 * day }, NOW)?.overdue, false);
  t.equal(formatAge(95 * day + 4 * 3600_000), '95d 4h');
  t.equal(formatAge(90 * day), '90d');
  t.equal(formatAge(3 * 3600_000 + 20 * 60_000), '3h 20m');
  t.equal(formatAge(2500), '2s');
});
