import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dotenv from 'dotenv';
import { parseConfigText } from '../../agent/config/load.ts';
import { prepareTemplates } from '../../agent/pipeline/prepare-templates.ts';
import { runInit } from '../../agent/pipeline/init.ts';
import { RefreshLoop } from '../../agent/sidecar/refresh-loop.ts';
import { ManualClock } from '../../agent/scheduler/manual-clock.ts';
import { Health } from '../../agent/server/health.ts';
import { AgentMetrics } from '../../agent/server/metrics.ts';
import { AgentError } from '../../agent/errors.ts';
import { forgetSecretValues } from '../../agent/log/secret-registry.ts';
import type { ChangeSet, Notifier } from '../../agent/reload/notifier.ts';
import { MemoryProvider } from '../fakes/memory-provider.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const T0 = Date.UTC(2026, 0, 1);
const DB1 = 'canary-Loop-Db-Password-One-11aa';
const DB2 = 'canary-Loop-Db-Password-Two-22bb';
const SHORT = 'Sh0rt-Canary'; // breaks minLength 16
const COOKIE1 = 'canary-Loop-Cookie-One-33cc';
const COOKIE2 = 'canary-Loop-Cookie-Two-44dd';
const CREDS1 = 'canary-Loop-Creds-One-55ee';
const CREDS2 = 'canary-Loop-Creds-Two-66ff';
const ALL = [DB1, DB2, SHORT, COOKIE1, COOKIE2, CREDS1, CREDS2];

const CONFIG = `
providers: { vault: { type: file, path: ./unused } }
secrets:
  db: { provider: vault, require: { password: { minLength: 16 }, username: {} }, ttl: 10m }
  cookie: { provider: vault }
  dbcreds: { provider: vault }
templates:
  - { contents: "DB_USER={{db.username}}\\nDB_PASSWORD={{db.password}}\\nCOOKIE={{cookie.value}}\\n", destination: erlmcp.env, escape: dotenv }
  - { contents: "{{dbcreds.username}}:{{dbcreds.password}}", destination: creds.txt }
output: { root: ./out }
refresh: { interval: 60s, jitter: 0.1, wait: { min: 2s, max: 10s }, backoff: { initial: 10s, max: 5m } }
`;

interface Fixture {
  clock: ManualClock;
  provider: MemoryProvider;
  loop: RefreshLoop;
  health: Health;
  metrics: AgentMetrics;
  notified: Array<{ change: ChangeSet; at: number }>;
  envFile: string;
  credsFile: string;
  logs(): string;
  series(): Promise<Map<string, number>>;
  /** move time, then let real file I/O started by the loop finish */
  advance(ms: number): Promise<void>;
  advanceTo(at: number): Promise<void>;
}

async function fixture(t: Test, opts: { withWatch?: boolean; withChanged?: boolean; notifyOn?: 'files' | 'secrets' } = {}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'refresh-loop-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new ManualClock(T0);
  const config = parseConfigText(CONFIG, join(dir, 'agent.yaml'), dir);
  const templates = await prepareTemplates(config);
  const provider = new MemoryProvider('vault', () => clock.now(), opts);
  provider.put('db', { username: 'erlmcp', password: DB1 });
  provider.put('cookie', { value: COOKIE1 });
  provider.put('dbcreds', { username: 'v-erlmcp-1', password: CREDS1 }, { ttlSeconds: 3600, maxTtlSeconds: 3 * 3600, renewable: true });
  const providers = new Map([['vault', provider as never]]);
  const { logger, text } = memoryLogger('debug');
  const { store } = await runInit({ config, templates, providers, logger, now: () => clock.now() });
  const notified: Fixture['notified'] = [];
  const notifier: Notifier = {
    kind: 'fake',
    timeoutMs: 5000,
    describe: () => 'record',
    notify: async (change) => (notified.push({ change, at: clock.now() }), { ok: true, detail: 'recorded', durationMs: 0 }),
  };
  const health = new Health(clock);
  const metrics = new AgentMetrics({ clock, health, version: 'test' });
  const loop = new RefreshLoop({ config, templates, providers, store, notifiers: [notifier], health, metrics, logger, clock, rand: () => 0.5, ...(opts.notifyOn ? { notifyOn: opts.notifyOn } : {}) });
  loop.start();
  t.teardown(() => loop.stop());
  t.teardown(() => forgetSecretValues());
  const series = async (): Promise<Map<string, number>> => {
    const m = new Map<string, number>();
    for (const line of (await metrics.text()).split('\n')) {
      if (line && !line.startsWith('#')) m.set(line.slice(0, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1)));
    }
    return m;
  };
  const advance = async (ms: number): Promise<void> => {
    await clock.advance(ms);
    await loop.idle();
  };
  const advanceTo = (at: number): Promise<void> => advance(Math.max(0, at - clock.now()));
  return { advance, advanceTo, clock, provider, loop, health, metrics, notified, envFile: join(dir, 'out/erlmcp.env'), credsFile: join(dir, 'out/creds.txt'), logs: text, series };
}

/** the loop must never log a value: not even a scrubbed one */
function assertCleanLogs(t: Test, f: Fixture): void {
  assertNoLeak(t, f.logs(), ALL);
  t.notMatch(f.logs(), /\[REDACTED\]/, 'nothing needed scrubbing');
}

t.test('static secret: an unchanged check writes nothing; a change is rendered and notified once', async (t) => {
  const f = await fixture(t);
  t.same(f.health.readiness(), { ready: true, rendered: true, stale: [] });
  t.same(f.loop.nextCheck('db'), { at: T0 + 60_000, kind: 'static' }, 'interval with jitter (rand 0.5: exact)');
  const before = statSync(f.envFile).mtimeMs;
  await f.advance(60_000);
  t.same(f.provider.calls.filter((c) => c.endsWith(':db')), ['fetch:db', 'changed:db'], 'cheap check, no fetch');
  t.equal(statSync(f.envFile).mtimeMs, before, 'file untouched');
  t.same(f.notified, []);

  f.provider.put('db', { username: 'erlmcp', password: DB2 });
  await f.advance(60_000);
  t.same(f.provider.calls.filter((c) => c.endsWith(':db')).slice(-2), ['changed:db', 'fetch:db']);
  t.same(f.notified, [], 'waits wait.min of quiet');
  t.match(readFileSync(f.envFile, 'utf8'), DB1, 'old content until the batch fires');
  await f.advance(2000);
  t.same(dotenv.parse(readFileSync(f.envFile, 'utf8')), { DB_USER: 'erlmcp', DB_PASSWORD: DB2, COOKIE: COOKIE1 });
  t.same(f.notified, [{ change: { secrets: ['db'], files: [f.envFile], pending: [] }, at: T0 + 122_000 }]);
  const m = await f.series();
  t.equal(m.get(`erlmcp_secrets_renders_total{destination="${f.envFile}",result="written"}`), 1);
  t.equal(m.get('erlmcp_secrets_reloads_total{notifier="reload[0]:fake",outcome="ok"}'), 1);
  t.equal(m.get('erlmcp_secrets_last_refresh_timestamp_seconds{secret="db"}'), (T0 + 120_000) / 1000);
  t.equal(m.get('erlmcp_secrets_fetches_total{provider="vault",secret="db"}'), 2, 'two reads after init: a check, then a check that found the change with its fetch');
  assertCleanLogs(t, f);
});

t.test('changes to two secrets inside wait.min: one render, one notification', async (t) => {
  const f = await fixture(t);
  f.provider.put('db', { username: 'erlmcp', password: DB2 });
  f.provider.put('cookie', { value: COOKIE2 });
  await f.advance(62_000);
  t.equal(f.notified.length, 1);
  t.same(f.notified[0]?.change, { secrets: ['cookie', 'db'], files: [f.envFile], pending: [] });
  const text = readFileSync(f.envFile, 'utf8');
  t.ok(text.includes(DB2) && text.includes(COOKIE2));
  assertCleanLogs(t, f);
});

t.test('a change that leaves every file byte-identical notifies nobody', async (t) => {
  const f = await fixture(t);
  f.provider.put('db', { username: 'erlmcp', password: DB1, unused: 'canary-unused-key-value' });
  await f.advance(62_000);
  t.same(f.notified, []);
  const m = await f.series();
  t.equal(m.get(`erlmcp_secrets_renders_total{destination="${f.envFile}",result="unchanged"}`), 1);
});

t.test("notifyOn 'secrets' (exec wrapper): notified even when no file changed", async (t) => {
  const f = await fixture(t, { notifyOn: 'secrets' });
  f.provider.put('db', { username: 'erlmcp', password: DB1, unused: 'canary-unused-key-value' });
  await f.advance(62_000);
  t.same(f.notified.map((n) => n.change), [{ secrets: ['db'], files: [], pending: [] }]);
});

t.test('leased secret: renewed at the jittered fraction; capped renewal -> new lease before expiry -> new creds rendered', async (t) => {
  const f = await fixture(t);
  // rand 0.5: renew at 2/3 * (1 - 0.15) = 56.67% of the 3600 s lease
  const renewAt = T0 + Math.floor(3600_000 * (2 / 3) * 0.85);
  t.same(f.loop.nextCheck('dbcreds'), { at: renewAt, kind: 'leased' });
  await f.advanceTo(renewAt - 1);
  t.notOk(f.provider.calls.includes('renew:dbcreds'));
  await f.advanceTo(renewAt);
  t.same(f.provider.log.filter((l) => l.call === 'renew:dbcreds').map((l) => l.at), [renewAt]);

  // keep renewing until max TTL (3 h from issue) caps a renewal
  await f.advanceTo(T0 + 4 * 2040_000);
  const renewals = f.provider.log.filter((l) => l.call === 'renew:dbcreds').map((l) => (l.at - T0) / 1000);
  t.same(renewals, [2040, 4080, 6120, 8160], 'renewals every 2040 s');
  // the 4th renewal got 10800 - 8160 = 2640 s < 3600 asked: refetch at 80-90% of that
  t.same(f.loop.nextCheck('dbcreds'), { at: T0 + 8160_000 + Math.floor(2640_000 * 0.85), kind: 'leased' });
  f.provider.put('dbcreds', { username: 'v-erlmcp-2', password: CREDS2 });
  await f.advanceTo(T0 + 8160_000 + Math.floor(2640_000 * 0.85) + 2000);
  t.equal(f.provider.calls.at(-1), 'fetch:dbcreds', 'fresh lease fetched');
  t.ok(f.provider.log.at(-1)!.at < T0 + 3 * 3600_000, 'before the old lease expired');
  t.equal(readFileSync(f.credsFile, 'utf8'), `v-erlmcp-2:${CREDS2}`);
  t.same(f.notified.map((n) => n.change), [{ secrets: ['dbcreds'], files: [f.credsFile], pending: [] }]);
  const m = await f.series();
  t.equal(m.get('erlmcp_secrets_lease_renewals_total{secret="dbcreds",outcome="renewed"}'), 3);
  t.equal(m.get('erlmcp_secrets_lease_renewals_total{secret="dbcreds",outcome="capped"}'), 1);
  t.equal(m.get('erlmcp_secrets_lease_renewals_total{secret="dbcreds",outcome="refetched"}'), 1);
  t.equal(m.get('erlmcp_secrets_expiry_seconds{kind="lease",name="dbcreds"}'), 3600 - 2, 'new lease: 3600 s from its fetch, 2 s ago');
  t.same(f.loop.nextCheck('dbcreds')?.kind, 'leased');
  assertCleanLogs(t, f);
});

t.test('a value that breaks its rules is refused: files keep the last good one, retries back off, readiness follows', async (t) => {
  const f = await fixture(t);
  f.provider.put('db', { username: 'erlmcp', password: SHORT });
  await f.advance(60_000);
  t.match(readFileSync(f.envFile, 'utf8'), DB1, 'last good value kept');
  t.same(f.loop.nextCheck('db'), { at: T0 + 65_000, kind: 'static' }, 'first retry: full jitter over refresh.backoff.initial (rand 0.5: half of it)');
  t.match(f.logs(), /db: the new value breaks its rules, keeping the last good one: db\.password/);
  t.equal(f.health.readiness().ready, true, 'still within its 10m TTL');
  t.same(f.health.readiness().rejected, [{ secret: 'db', since: T0 + 60_000, code: 'validation', hasTtl: true }], 'the refusal is visible while ready');
  t.equal((await f.series()).get('erlmcp_secrets_rejected_values{secret="db"}'), 1);

  await f.advanceTo(T0 + 600_000);
  const r = f.health.readiness();
  t.equal(r.ready, true, 'stale after ttl without a good refresh, but a static value stays valid: still ready');
  t.equal(f.health.readiness({ fresh: true }).ready, false, 'not fresh');
  t.same(r.stale.map((s) => [s.secret, s.lastError?.code]), [['db', 'validation']]);
  t.same(f.notified, []);

  f.provider.put('db', { username: 'erlmcp', password: DB2 });
  const next = f.loop.nextCheck('db')!.at;
  await f.advanceTo(next + 2000);
  t.match(readFileSync(f.envFile, 'utf8'), DB2);
  t.equal(f.health.readiness().ready, true, 'ready again');
  t.equal(f.health.readiness().rejected, undefined, 'no longer refused');
  t.equal((await f.series()).get('erlmcp_secrets_rejected_values{secret="db"}'), undefined);
  t.equal(f.notified.length, 1);
  assertCleanLogs(t, f);
});

t.test('backend failures back off exponentially, capped at refresh.backoff.max', async (t) => {
  const f = await fixture(t);
  f.provider.failNext('cookie', new AgentError('unavailable', 'vault: 503 sealed'), 12);
  await f.advance(3 * 3600_000);
  const at = f.provider.log.filter((l) => l.call === 'changed:cookie').map((l) => l.at);
  const gaps = at.slice(1).map((x, i) => (x - at[i]!) / 1000);
  t.equal(gaps[0], 5, 'first retry: full jitter over initial (rand 0.5: half of it)');
  const backoffs = gaps.slice(0, 12); // 12 failures, 12 waits
  t.ok(backoffs.every((g, i) => i === 0 || g >= backoffs[i - 1]!), `waits grow: ${backoffs.join(', ')}`);
  t.ok(backoffs[4]! > 4 * backoffs[0]!, 'exponential, not linear');
  t.ok(Math.max(...backoffs) <= 300, 'never above max');
  t.equal(new Set(backoffs.slice(6)).size, 1, 'flat once the ceiling reached max');
  const recoveredAt = at[13]!;
  t.ok(gaps[12]! >= 30 && gaps[12]! <= 90, `after recovery: the next regular check, ${gaps[12]} s later`);
  t.equal((recoveredAt - (T0 + 60_000)) % 60_000, 0, "back on the secret's own phase (its slots every 60 s from its first check)");
  const m = await f.series();
  t.equal(m.get('erlmcp_secrets_fetch_errors_total{provider="vault",secret="cookie",code="unavailable"}'), 12);
});

t.test('a Retry-After from the backend is honoured, up to refresh.backoff.max', async (t) => {
  const f = await fixture(t);
  f.provider.failNext('cookie', new AgentError('unavailable', 'throttled', { retryAfterMs: 120_000 }), 1);
  f.provider.failNext('db', new AgentError('unavailable', 'throttled', { retryAfterMs: 3_600_000 }), 1);
  await f.advance(60_000);
  t.same(f.loop.nextCheck('cookie'), { at: T0 + 60_000 + 120_000, kind: 'static' }, 'not before the 120 s the backend asked for (the backoff alone says 10 s)');
  t.same(f.loop.nextCheck('db'), { at: T0 + 60_000 + 300_000, kind: 'static' }, 'a one-hour hint is capped at backoff.max (5 m)');
});

t.test('a throttled static secret is not asked again before its next planned check; a throttled lease keeps the backoff', async (t) => {
  const f = await fixture(t);
  await f.advance(60_000);
  f.provider.failNext('cookie', new AgentError('unavailable', 'vault: rate limited (HTTP 429)', { throttled: true }), 2);
  f.provider.failNext('db', new AgentError('unavailable', 'vault: 503 sealed'), 1);
  await f.advance(60_000);
  const failedAt = T0 + 120_000;
  t.same(f.loop.nextCheck('cookie'), { at: failedAt + 60_000, kind: 'static' }, 'throttled: the normal 60 s interval, not the 10 s backoff');
  t.same(f.loop.nextCheck('db'), { at: failedAt + 5_000, kind: 'static' }, 'a failure that is not throttling: the first retry is full jitter over the 10 s backoff (rand 0.5)');
  await f.advance(60_000);
  t.same(f.loop.nextCheck('cookie'), { at: failedAt + 120_000, kind: 'static' }, 'still throttled: another interval');
  const cookieCalls = f.provider.log.filter((l) => l.call === 'changed:cookie').map((l) => (l.at - T0) / 1000);
  t.same(cookieCalls, [60, 120, 180], 'one call per interval while throttled, as when healthy');
  await f.advance(60_000);
  t.same(f.loop.nextCheck('cookie'), { at: failedAt + 180_000, kind: 'static' }, 'recovered: the interval as before');
  assertCleanLogs(t, f);
});

t.test('watch(): a pushed change is checked at once', async (t) => {
  const f = await fixture(t, { withWatch: true });
  await f.advance(1000);
  f.provider.put('cookie', { value: COOKIE2 });
  f.provider.emitChange('cookie');
  await f.advance(0);
  t.same(f.provider.log.filter((l) => l.call.endsWith(':cookie')).map((l) => [l.call, l.at - T0]), [['fetch:cookie', 0], ['changed:cookie', 1000], ['fetch:cookie', 1000]]);
  await f.advance(2000);
  t.match(readFileSync(f.envFile, 'utf8'), COOKIE2);
});

t.test('without changed(): fetch and compare', async (t) => {
  const f = await fixture(t, { withChanged: false });
  await f.advance(60_000);
  t.same(f.provider.calls.filter((c) => c.endsWith(':db')), ['fetch:db', 'fetch:db']);
  t.same(f.notified, []);
});

t.test('invalidate(): leased secrets are fetched anew at once', async (t) => {
  const f = await fixture(t);
  f.provider.put('dbcreds', { username: 'v-erlmcp-2', password: CREDS2 });
  f.loop.invalidate('vault token replaced', ['dbcreds']);
  await f.advance(2000);
  t.equal(f.provider.calls.at(-1), 'fetch:dbcreds');
  t.equal(readFileSync(f.credsFile, 'utf8'), `v-erlmcp-2:${CREDS2}`);
  t.match(f.logs(), /refetching secrets: provider invalidated them/);
});

t.test('stop(): no timers left, later changes are ignored', async (t) => {
  const f = await fixture(t);
  await f.loop.stop();
  t.equal(f.clock.pendingTimers, 0);
  f.provider.put('db', { username: 'erlmcp', password: DB2 });
  await f.advance(3600_000);
  t.same(f.provider.calls.filter((c) => c !== 'fetch:db' && c !== 'fetch:cookie' && c !== 'fetch:dbcreds'), []);
});
