// Numbers from backends: every hostile TTL, version and date becomes a value
// in bounds (or a typed refusal), never a tight loop or a RangeError.

import t from 'tap';
import { MAX_TTL_SECONDS, MIN_TTL_SECONDS, UNKNOWN_TTL_SECONDS, isoOrUnknown, leaseSeconds, positiveVersion, tokenTtlSeconds } from '../../agent/providers/backend-numbers.ts';
import { MAX_VALUE_DEPTH, nestedDeeperThan, toKeyMap } from '../../agent/providers/key-map.ts';
import { AgentError } from '../../agent/errors.ts';
import { MAX_RETRY_AFTER_MS, parseRetryAfter, parseRetryAfterMs } from '../../agent/providers/retry-after.ts';
import { parseJson } from '../../agent/providers/file/parse-json.ts';
import { secretStringToData } from '../../agent/providers/aws/secret-data.ts';
import { secretValueToData } from '../../agent/providers/azure/secret-data.ts';
import { payloadToData } from '../../agent/providers/gcp/payload.ts';
import { kvV2Tombstone, kvV2VersionState, leaseRenewal, toSecretValue } from '../../agent/providers/vault/response.ts';

const HOSTILE_TTLS: Array<[unknown, number]> = [
  [0, UNKNOWN_TTL_SECONDS],
  [-0, UNKNOWN_TTL_SECONDS],
  [-5, UNKNOWN_TTL_SECONDS],
  [Number.NEGATIVE_INFINITY, UNKNOWN_TTL_SECONDS],
  [Number.NaN, UNKNOWN_TTL_SECONDS],
  ['3600', UNKNOWN_TTL_SECONDS],
  ['soon', UNKNOWN_TTL_SECONDS],
  [null, UNKNOWN_TTL_SECONDS],
  [undefined, UNKNOWN_TTL_SECONDS],
  [true, UNKNOWN_TTL_SECONDS],
  [[60], UNKNOWN_TTL_SECONDS],
  [{ ttl: 60 }, UNKNOWN_TTL_SECONDS],
  [0.3, MIN_TTL_SECONDS],
  [1.5, 1],
  [59.9, 59],
  [1e30, MAX_TTL_SECONDS],
  [Number.POSITIVE_INFINITY, MAX_TTL_SECONDS],
  [Number.MAX_VALUE, MAX_TTL_SECONDS],
];

t.test('lease durations: whole seconds in [1 s, 32 days], 5 minutes when unusable', async (t) => {
  for (const [raw, want] of HOSTILE_TTLS) {
    const r = leaseSeconds(raw);
    t.equal(r.seconds, want, `${String(raw)} -> ${want}`);
    t.type(r.problem, 'string', `${String(raw)}: the replacement is explained`);
    t.ok(Number.isSafeInteger(r.seconds) && r.seconds >= MIN_TTL_SECONDS && r.seconds <= MAX_TTL_SECONDS);
  }
  for (const ok of [1, 60, 3600, MAX_TTL_SECONDS]) t.same(leaseSeconds(ok), { seconds: ok }, `${ok} is kept as it is, no warning`);
  t.match(leaseSeconds('x'.repeat(10_000)).problem, /^"x{40}\.\.\." is not/, 'a long string is not echoed whole');
});

t.test('token TTLs: 0 stays "never expires", the rest as leases', async (t) => {
  t.same(tokenTtlSeconds(0), { seconds: 0 });
  t.same(tokenTtlSeconds(1800), { seconds: 1800 });
  for (const [raw, want] of HOSTILE_TTLS.filter(([r]) => r !== 0)) t.equal(tokenTtlSeconds(raw).seconds, want, `${String(raw)} -> ${want}`);
});

t.test('versions: safe integers >= 1 only; dates print or say they cannot', async (t) => {
  t.equal(positiveVersion(3), 3);
  for (const bad of [0, -1, 1.5, 1e999, 2 ** 53, Number.NaN, '3', null]) t.equal(positiveVersion(bad), undefined, String(bad));
  t.equal(isoOrUnknown(new Date(0)), '1970-01-01T00:00:00.000Z');
  t.equal(isoOrUnknown(new Date(Number.NaN)), 'an unreadable date');
  t.equal(isoOrUnknown(new Date(1e30)), 'an unreadable date');
  t.equal(isoOrUnknown(undefined), 'an unreadable date');
});

t.test('Retry-After: absurd hints are capped at a day', async (t) => {
  t.equal(parseRetryAfter('9'.repeat(40)), MAX_RETRY_AFTER_MS);
  t.equal(parseRetryAfter('5'), 5000);
  t.equal(parseRetryAfterMs('9'.repeat(40)), MAX_RETRY_AFTER_MS);
  t.equal(parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT', 0), MAX_RETRY_AFTER_MS);
  for (const bad of ['-5', '1e999', '1.5', 'soon', 'NaN']) t.equal(parseRetryAfter(bad), undefined, bad);
});

t.test('nesting: measured without recursion, refused past MAX_VALUE_DEPTH as a validation error', async (t) => {
  const deep = (n: number): unknown => JSON.parse('['.repeat(n) + ']'.repeat(n));
  t.equal(nestedDeeperThan(deep(200_000), 64), true, '200k deep: no RangeError');
  t.equal(nestedDeeperThan(deep(64), 64), false);
  t.equal(nestedDeeperThan(deep(65), 64), true);
  t.equal(nestedDeeperThan('x', 0), false);
  t.same(toKeyMap({ a: 'x', n: 5, o: deep(MAX_VALUE_DEPTH - 1) }), { a: 'x', n: '5', o: JSON.stringify(deep(MAX_VALUE_DEPTH - 1)) }, 'just under the bound: JSON text');
  const e = t.throws(() => toKeyMap({ a: 'x', deep: deep(200_000) }, 'vault secret/data/app')) as unknown as AgentError;
  t.ok(e instanceof AgentError);
  t.equal(e.code, 'validation', 'exit 3: the backend answered something that is not a secret');
  t.match(e.message, /^vault secret\/data\/app answered key "deep" with a value nested more than 64 levels deep/);
  const objects = JSON.parse('{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000)) as unknown;
  t.throws(() => toKeyMap({ o: objects }), { code: 'validation' }, 'objects as well as lists');
});

t.test('vault answers: hostile numbers in leases, renewals, versions', async (t) => {
  const problems: string[] = [];
  const v = toSecretValue({ data: { u: 'x' }, lease_id: 'database/creds/r/1', lease_duration: 1e999, renewable: 'yes' }, 1000, 'vault database/creds/r', (p) => problems.push(p));
  t.same(v?.lease, { id: 'database/creds/r/1', ttlSeconds: MAX_TTL_SECONDS, renewable: false, obtainedAt: 1000 }, 'renewable "yes" is not true');
  t.match(problems, [/^lease_duration Infinity.* beyond/]);
  t.equal(toSecretValue({ data: { u: 'x' }, lease_id: 'l', lease_duration: -5 }, 0)?.lease?.ttlSeconds, UNKNOWN_TTL_SECONDS);
  t.same(leaseRenewal({ lease_duration: 0.5, renewable: true }), { ttlSeconds: 1, renewable: true, problem: 'lease_duration 0.5 is not whole seconds; taken as 1s' });
  t.equal(leaseRenewal({ renewable: true }), undefined, 'no lease_duration at all: not a renewal');
  const meta = (version: unknown) => ({ created_time: '2026-01-01T00:00:00Z', deletion_time: '', destroyed: false, version });
  const kv: string[] = [];
  t.same(toSecretValue({ data: { data: { a: 'x' }, metadata: meta(1e999) } }, Date.UTC(2026, 1, 1), 'kv', (p) => kv.push(p)), { data: { a: 'x' }, createdAt: Date.UTC(2026, 0, 1) }, 'KV v2 without a usable version: none kept');
  t.equal(kv.length, 1);
  t.same(toSecretValue({ data: { data: { a: 'x' }, metadata: meta('7') } }, 1), { data: { a: 'x' } });
  t.equal(kvV2Tombstone({ data: { data: null, metadata: { ...meta(-1), destroyed: true } } }), undefined, 'a tombstone needs a real version');
  t.equal(kvV2VersionState({ data: { current_version: 1e999, versions: {} } }, 0), undefined, 'unreadable current_version: fall back to full reads');
  t.equal(kvV2VersionState({ data: { current_version: 2.5, versions: {} } }, 0), undefined);
  t.equal(kvV2VersionState({ data: { current_version: 2, versions: {} } }, 0)?.currentVersion, 2);
});

t.test('file provider JSON: the same depth bound, a typed refusal instead of "not valid JSON"', async (t) => {
  const place = { display: 'secrets/app.json', abs: '/tmp/secrets/app.json' } as Parameters<typeof parseJson>[1];
  const nested = (n: number): string => `{"a":${'['.repeat(n)}${']'.repeat(n)}}`;
  t.ok(parseJson(nested(MAX_VALUE_DEPTH), place), `${MAX_VALUE_DEPTH} levels below the top: read`);
  for (const n of [MAX_VALUE_DEPTH + 1, 5_000, 200_000]) {
    t.throws(() => parseJson(nested(n), place), { code: 'validation', message: /^secrets\/app\.json is nested more than 64 levels deep, which no secret is/ }, `${n} levels`);
  }
});

t.test('AWS, Azure and GCP values nested 200k deep: the same typed refusal', async (t) => {
  const deepJson = `{"user":"u","deep":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
  t.throws(() => secretStringToData(deepJson), { code: 'validation', message: /key "deep" with a value nested more than 64 levels deep/ }, 'AWS SecretString');
  t.throws(() => secretValueToData(deepJson, { json: true }), { code: 'validation' }, 'Azure JSON secret');
  t.throws(() => payloadToData(Buffer.from(deepJson), { json: true }), { code: 'validation' }, 'GCP JSON payload');
});
