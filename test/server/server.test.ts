import t, { type Test } from 'tap';
import http from 'node:http';
import { ManualClock } from '../../agent/scheduler/manual-clock.ts';
import { Health } from '../../agent/server/health.ts';
import { AgentMetrics } from '../../agent/server/metrics.ts';
import { startServer, type RunningServer } from '../../agent/server/http-server.ts';
import { AgentError } from '../../agent/errors.ts';
import { forgetSecretValues, registerSecretValue } from '../../agent/log/secret-registry.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const CANARY_PASSWORD = 'canary-Server-Password-1f2e3d4c5b';
const CANARY_TOKEN = 'canary-Server-Token-a9b8c7d6e5';
const T0 = Date.UTC(2026, 0, 1);

interface Fixture {
  clock: ManualClock;
  health: Health;
  metrics: AgentMetrics;
  server: RunningServer;
  quits: number[];
  logs(): string;
}

async function fixture(t: Test, quit = false): Promise<Fixture> {
  const clock = new ManualClock(T0);
  const health = new Health(clock);
  const metrics = new AgentMetrics({ clock, health, version: '0.1.0-test' });
  const quits: number[] = [];
  const { logger, text } = memoryLogger();
  const server = await startServer({ listen: '127.0.0.1:0', quit, health, metrics, logger, onQuit: () => void quits.push(clock.now()) });
  t.teardown(() => server.close());
  return { clock, health, metrics, server, quits, logs: text };
}

/** parse exposition text into "name{labels}" -> value */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

t.beforeEach(() => {
  registerSecretValue(CANARY_PASSWORD);
  registerSecretValue(CANARY_TOKEN);
});
t.afterEach(() => forgetSecretValues());

t.test('/healthz is 200 ok; unknown paths 404; wrong methods 405', async (t) => {
  const f = await fixture(t);
  const r = await fetch(`${f.server.url}/healthz`);
  t.equal(r.status, 200);
  t.equal(await r.text(), 'ok\n');
  t.equal((await fetch(`${f.server.url}/nope`)).status, 404);
  const post = await fetch(`${f.server.url}/healthz`, { method: 'POST' });
  t.equal(post.status, 405);
  t.equal(post.headers.get('allow'), 'GET, HEAD');
  t.equal((await fetch(`${f.server.url}/metrics`, { method: 'HEAD' })).status, 200);
  t.equal(f.server.host, '127.0.0.1');
  t.ok(f.server.port > 0);
});

t.test('/readyz: 503 before the first render, 200 after; stale secrets named (still 200), 503 with ?fresh', async (t) => {
  const f = await fixture(t);
  let r = await fetch(`${f.server.url}/readyz`);
  t.equal(r.status, 503);
  t.same(await r.json(), { status: 'not ready', rendered: false, stale: [] });
  f.health.markFresh('db', f.clock.now(), 60_000);
  f.health.markFresh('cookie', f.clock.now(), 600_000);
  f.health.markRendered();
  r = await fetch(`${f.server.url}/readyz`);
  t.equal(r.status, 200);
  t.same(await r.json(), { status: 'ready', rendered: true, stale: [] });
  await f.clock.advance(90_000);
  f.health.markError('db', new AgentError('unavailable', `vault said ${CANARY_PASSWORD}`));
  r = await fetch(`${f.server.url}/readyz`);
  t.equal(r.status, 200, 'stale but still valid: ready');
  const named = await r.text();
  t.match(JSON.parse(named), { status: 'ready', stale: [{ secret: 'db', lastError: 'unavailable' }] });
  assertNoLeak(t, named, [CANARY_PASSWORD]);
  r = await fetch(`${f.server.url}/readyz?fresh`);
  t.equal(r.status, 503, '?fresh: not ready once anything is stale');
  const body = await r.text();
  t.same(JSON.parse(body), {
    status: 'not ready',
    rendered: true,
    stale: [{ secret: 'db', staleSince: '2026-01-01T00:01:00.000Z', lastRefresh: '2026-01-01T00:00:00.000Z', lastError: 'unavailable', lastErrorAt: '2026-01-01T00:01:30.000Z' }],
  });
  assertNoLeak(t, body, [CANARY_PASSWORD]);
  const statusOf = async (q: string): Promise<number> => (await fetch(`${f.server.url}/readyz${q}`)).status;
  t.same(await Promise.all(['?fresh=true', '?fresh=1', '?fresh=', '?fresh=yes', '?fresh=ON'].map(statusOf)), [503, 503, 503, 503, 503], 'true, 1, yes, on and an empty value are the strict answer');
  t.same(await Promise.all(['?fresh=false', '?fresh=0', '?fresh=no', '?fresh=off'].map(statusOf)), [200, 200, 200, 200], 'false, 0, no and off are the default answer, not the strict one');
  const odd = await fetch(`${f.server.url}/readyz?fresh=maybe`);
  t.equal(odd.status, 400, 'another value is refused, not read as either');
  t.match(await odd.text(), /fresh takes no value, or true\/1\/yes\/on/);
  f.health.markFresh('db', f.clock.now(), 60_000);
  t.equal((await fetch(`${f.server.url}/readyz?fresh`)).status, 200, 'fresh again after a refresh');
  f.health.markFresh('lease', f.clock.now(), 1_000, f.clock.now() + 1_000);
  await f.clock.advance(1_000);
  r = await fetch(`${f.server.url}/readyz`);
  t.equal(r.status, 503, 'a lease past its end: not ready');
  t.match(await r.json(), { status: 'not ready', stale: [{ secret: 'lease', expired: true }] });
});

t.test('/readyz: a refused value stays 200 but is named, with a note when no ttl will end it; and a metric', async (t) => {
  const f = await fixture(t);
  f.health.markFresh('db', f.clock.now());
  f.health.markFresh('cookie', f.clock.now(), 600_000);
  f.health.markRendered();
  await f.clock.advance(5_000);
  f.health.markError('db', new AgentError('validation', `db: the new value breaks its rules: ${CANARY_PASSWORD}`));
  f.health.markError('cookie', new AgentError('validation', 'cookie: refused'));
  await f.clock.advance(5_000);
  f.health.markError('db', new AgentError('validation', 'again'));
  const r = await fetch(`${f.server.url}/readyz`);
  t.equal(r.status, 200, 'the files still hold the last good value');
  const body = await r.text();
  t.same(JSON.parse(body), {
    status: 'ready',
    rendered: true,
    stale: [],
    rejected: [
      { secret: 'cookie', since: '2026-01-01T00:00:05.000Z', error: 'validation', serving: 'the last good value' },
      { secret: 'db', since: '2026-01-01T00:00:05.000Z', error: 'validation', serving: 'the last good value', note: 'no ttl on this secret: the pod stays ready until the backend holds a valid value again' },
    ],
  });
  assertNoLeak(t, body, [CANARY_PASSWORD]);
  let m = parseMetrics(await f.metrics.text());
  t.equal(m.get('erlmcp_secrets_rejected_values{secret="db"}'), 1);
  t.equal(m.get('erlmcp_secrets_rejected_values{secret="cookie"}'), 1);
  f.health.markError('cookie', new AgentError('unavailable', 'backend down'));
  t.equal(f.health.readiness().rejected?.length, 2, 'a backend outage after a refusal does not clear it');
  f.health.markFresh('db', f.clock.now());
  f.health.markFresh('cookie', f.clock.now(), 600_000);
  t.equal(f.health.readiness().rejected, undefined, 'a good value clears it');
  m = parseMetrics(await f.metrics.text());
  t.equal(m.get('erlmcp_secrets_rejected_values{secret="db"}'), undefined);
  f.health.markError('db', new AgentError('unavailable', 'backend down'));
  t.equal(f.health.readiness().rejected, undefined, 'an unreachable backend is not a refused value');
});

t.test('/metrics: specific series values', async (t) => {
  const f = await fixture(t);
  const m = f.metrics;
  m.fetched('vault', 'db');
  m.fetched('vault', 'db');
  m.fetchFailed('vault', 'db', 'unavailable');
  m.fetched('aws', 'apikey');
  m.leaseRenewal('dbcreds', 'renewed');
  m.leaseRenewal('dbcreds', 'renewed');
  m.leaseRenewal('dbcreds', 'capped');
  m.rendered('/run/secrets/erlmcp.env', 'written');
  m.rendered('/run/secrets/erlmcp.env', 'unchanged');
  m.rendered('/run/secrets/erlmcp.env', 'unchanged');
  m.reloaded('reload[0]:signal', true);
  m.reloaded('reload[1]:http', false);
  m.refreshed('db', T0 + 1500);
  m.expiresAt('lease', 'dbcreds', T0 + 3600_000);
  m.expiresAt('token', 'vault', T0 + 600_000);
  m.expiresAt('certificate', 'tls', T0 - 1000);
  f.health.markRendered();
  f.health.markFresh('db', T0, 1000);
  await f.clock.advance(600_000);

  const r = await fetch(`${f.server.url}/metrics`);
  t.equal(r.status, 200);
  t.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const series = parseMetrics(await r.text());
  const expect: Record<string, number> = {
    'erlmcp_secrets_fetches_total{provider="vault",secret="db"}': 3,
    'erlmcp_secrets_fetches_total{provider="aws",secret="apikey"}': 1,
    'erlmcp_secrets_fetch_errors_total{provider="vault",secret="db",code="unavailable"}': 1,
    'erlmcp_secrets_lease_renewals_total{secret="dbcreds",outcome="renewed"}': 2,
    'erlmcp_secrets_lease_renewals_total{secret="dbcreds",outcome="capped"}': 1,
    'erlmcp_secrets_renders_total{destination="/run/secrets/erlmcp.env",result="written"}': 1,
    'erlmcp_secrets_renders_total{destination="/run/secrets/erlmcp.env",result="unchanged"}': 2,
    'erlmcp_secrets_reloads_total{notifier="reload[0]:signal",outcome="ok"}': 1,
    'erlmcp_secrets_reloads_total{notifier="reload[1]:http",outcome="failed"}': 1,
    'erlmcp_secrets_last_refresh_timestamp_seconds{secret="db"}': (T0 + 1500) / 1000,
    'erlmcp_secrets_expiry_seconds{kind="lease",name="dbcreds"}': 3000,
    'erlmcp_secrets_expiry_seconds{kind="token",name="vault"}': 0,
    'erlmcp_secrets_expiry_seconds{kind="certificate",name="tls"}': -601,
    erlmcp_secrets_stale_secrets: 1,
    // db is stale, but a static secret stays valid: the pod stays ready
    erlmcp_secrets_ready: 1,
    [`erlmcp_secrets_build_info{version="0.1.0-test",nodejs="${process.version}"}`]: 1,
  };
  for (const [k, v] of Object.entries(expect)) t.equal(series.get(k), v, k);

  m.clearExpiry('certificate', 'tls');
  const again = parseMetrics(await (await fetch(`${f.server.url}/metrics`)).text());
  t.equal(again.get('erlmcp_secrets_expiry_seconds{kind="certificate",name="tls"}'), undefined, 'cleared expiry disappears');
});

t.test('POST /quit: 404 unless server.quit; when enabled, 202 then onQuit once', async (t) => {
  const off = await fixture(t, false);
  t.equal((await fetch(`${off.server.url}/quit`, { method: 'POST' })).status, 404);
  t.same(off.quits, []);

  const on = await fixture(t, true);
  t.equal((await fetch(`${on.server.url}/quit`)).status, 405, 'GET /quit is refused');
  const r = await fetch(`${on.server.url}/quit`, { method: 'POST' });
  t.equal(r.status, 202);
  t.equal(await r.text(), 'stopping\n');
  await fetch(`${on.server.url}/quit`, { method: 'POST' });
  await new Promise((r) => setTimeout(r, 20));
  t.same(on.quits.length, 1, 'onQuit called once');
  t.match(on.logs(), /POST \/quit received/);
});

t.test('listening on a taken port is a config error naming server.listen', async (t) => {
  const f = await fixture(t);
  const { logger } = memoryLogger();
  const err = await startServer({ listen: `127.0.0.1:${f.server.port}`, quit: false, health: f.health, metrics: f.metrics, logger }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof AgentError);
  t.equal((err as AgentError).code, 'config');
  t.match((err as AgentError).message, /^server\.listen: cannot listen on 127\.0\.0\.1:\d+: the address is in use/);
  await t.rejects(startServer({ listen: 'nonsense', quit: false, health: f.health, metrics: f.metrics, logger }), { code: 'config' });
});

t.test('canary: no endpoint ever returns a registered secret value', async (t) => {
  const f = await fixture(t, true);
  // feed every input a careless caller might pass a value through
  f.health.markRendered();
  f.health.markFresh('db', T0, 10);
  f.health.markError('db', new AgentError('validation', `value ${CANARY_PASSWORD} too short`));
  f.health.markError('db', new Error(`token ${CANARY_TOKEN} rejected`));
  f.metrics.fetchFailed('vault', 'db', 'auth');
  await f.clock.advance(1000);
  const texts: string[] = [];
  for (const path of ['/healthz', '/readyz', '/metrics', '/nope', `/readyz?x=${CANARY_TOKEN.slice(0, 3)}`]) {
    const r = await fetch(`${f.server.url}${path}`);
    texts.push(`${r.status} ${JSON.stringify([...r.headers])} ${await r.text()}`);
  }
  // a raw request too, to see headers exactly as sent
  const raw = await new Promise<string>((resolve) => {
    http.get(`${f.server.url}/readyz`, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => (b += c.toString()));
      res.on('end', () => resolve(`${JSON.stringify(res.rawHeaders)} ${b}`));
    });
  });
  texts.push(raw, f.logs());
  assertNoLeak(t, texts, [CANARY_PASSWORD, CANARY_TOKEN]);
  t.match(texts[1], /"lastError":"internal"/);
});
