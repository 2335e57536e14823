// One scenario, run against each cloud backend (AWS via moto, Azure Key
// Vault fake, GCP Secret Manager fake): the real CLI `run` as a child in real
// time, with a 1 s refresh interval, three templates over two secrets and an
// http reload notifier aimed at a counting server here. It checks, in order:
//   quiet cycles   - one cheap backend call per secret per cycle (even though
//                    two templates use the same secret), no re-render, no reload
//   rotation       - one value read, one write per dependent file, one reload
//   throttling     - last good files stay, retries back off, /readyz?fresh goes 503
//                    once `ttl` passes, and recovers alone with no reload
//   canaries       - no value ever reaches the child's stdout/stderr
// Each backend supplies a CloudBackend adapter; the figures measured are
// printed as tap comments.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { startAgent, waitUntil, type AgentProcess, type LogLine } from './agent-process.ts';
import { assertNoLeak } from './no-leak.ts';

export interface CloudBackend {
  /** provider type, also the provider's name in the config */
  type: 'aws' | 'azure' | 'gcp';
  /** the provider block as flow YAML (JSON) */
  providerConfig: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  /** the backend's cheap "did it change?" call, and the billed value read
   * (the same call for Azure, which has no metadata-only read) */
  checkCall: string;
  readCall: string;
  /** store a new JSON secret; returns its SecretRef spec */
  create(name: string, data: Record<string, string>): Promise<Record<string, unknown>>;
  /** a new current version */
  rotate(name: string, data: Record<string, string>): Promise<void>;
  /** calls of `call` the backend saw for this secret */
  calls(call: string, name: string): number;
  /** answer every call for these secrets with the backend's throttling error */
  throttle(names: string[]): void;
  recover(): void;
}

interface ReloadCounter {
  url: string;
  requests: Array<{ method: string; body: string }>;
}

const INTERVAL_MS = 1_000;
const JITTER = 0.1;
const TTL_MS = 3_000;
const BACKOFF = { initialMs: 300, maxMs: 2_400 };
const QUIET_MS = 3_500;
const FAILED = 'secret refresh failed; files keep the last good value';

async function startReloadCounter(t: Test): Promise<ReloadCounter> {
  const requests: ReloadCounter['requests'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', body });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('reloaded');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.teardown(() => new Promise<void>((ok) => server.close(() => ok())));
  const addr = server.address();
  return { url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/reload`, requests };
}

/** the strict answer (/readyz?fresh): 503 once a value is past its ttl. Plain
 * /readyz stays 200 for a static value past its ttl (docs/fleet.md) */
async function readyz(url: string): Promise<{ status: number; stale: string[] }> {
  const r = await fetch(`${url}/readyz?fresh`);
  const body = (await r.json()) as { stale?: Array<{ secret: string }> };
  return { status: r.status, stale: (body.stale ?? []).map((s) => s.secret).sort() };
}

async function fetchCount(url: string, secret: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('erlmcp_secrets_fetches_total{') && l.includes(`secret="${secret}"`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

const since = (a: AgentProcess, mark: number, match: (l: LogLine) => boolean): LogLine[] => a.logs.slice(mark).filter(match);

/** the whole scenario for one backend; `prefix` makes its canaries distinctive */
export async function cloudRotationScenario(t: Test, backend: CloudBackend, prefix: string): Promise<void> {
  const started = performance.now();
  const name = (s: string) => `erlmcp-${backend.type}-${s}`;
  const DB1 = `${prefix}-Db-First-Pw-q7Vx2K`;
  const DB2 = `${prefix}-Db-Rotated-Pw-M4tz9R`;
  const API = `${prefix}-Api-Key-Zp3wQ8`;
  const canaries = [DB1, DB2, API];

  const dir = mkdtempSync(join(tmpdir(), `cloud-sidecar-${backend.type}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dbSpec = await backend.create(name('db'), { user: 'erlmcp', password: DB1 });
  const apiSpec = await backend.create(name('api'), { key: API });
  const reload = await startReloadCounter(t);
  const cfg = join(dir, 'agent.yaml');
  const secretYaml = (spec: Record<string, unknown>) => JSON.stringify({ provider: backend.type, ttl: `${TTL_MS}ms`, ...spec });
  writeFileSync(
    cfg,
    `providers:
  ${backend.type}: ${JSON.stringify(backend.providerConfig)}
secrets:
  db: ${secretYaml(dbSpec)}
  api: ${secretYaml(apiSpec)}
templates:
  - { contents: "password={{db.password}}\\n", destination: db.conf }
  - { contents: "{{db.user}}:{{db.password}}@{{api.key}}\\n", destination: both.conf }
  - { contents: "key={{api.key}}\\n", destination: api.conf }
output: { root: ./out }
server: { listen: "127.0.0.1:0" }
refresh: { interval: ${INTERVAL_MS}ms, jitter: ${JITTER}, backoff: { initial: ${BACKOFF.initialMs}ms, max: ${BACKOFF.maxMs}ms } }
reload:
  - { type: http, url: "${reload.url}", retries: 0, timeout: 5s }
`,
  );
  const out = (f: string) => join(dir, 'out', f);
  const dbFile = out('db.conf');
  const bothFile = out('both.conf');
  const apiFile = out('api.conf');

  const a = startAgent(t, ['run', '-c', cfg], { cwd: dir, env: backend.env });
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running', 30_000);
  const { url } = (await a.waitForLog((l) => l.msg === 'health server listening', 'health server')) as unknown as { url: string };
  t.equal(readFileSync(dbFile, 'utf8'), `password=${DB1}\n`, 'init rendered the first value');
  t.equal(readFileSync(bothFile, 'utf8'), `erlmcp:${DB1}@${API}\n`);
  t.equal((await readyz(url)).status, 200, 'ready after init');
  t.equal(reload.requests.length, 0, 'init does not reload');

  // ---- 1. quiet cycles: one cheap call per secret per cycle --------------
  const quietMark = a.logs.length;
  const before = {
    dbCheck: backend.calls(backend.checkCall, name('db')),
    apiCheck: backend.calls(backend.checkCall, name('api')),
    dbRead: backend.calls(backend.readCall, name('db')),
    apiRead: backend.calls(backend.readCall, name('api')),
    dbAgent: await fetchCount(url, 'db'),
    apiAgent: await fetchCount(url, 'api'),
  };
  const quietFrom = performance.now();
  await new Promise((r) => setTimeout(r, QUIET_MS));
  const dbAgent = (await fetchCount(url, 'db')) - before.dbAgent;
  const apiAgent = (await fetchCount(url, 'api')) - before.apiAgent;
  const quietMs = performance.now() - quietFrom;
  const dbChecks = backend.calls(backend.checkCall, name('db')) - before.dbCheck;
  const apiChecks = backend.calls(backend.checkCall, name('api')) - before.apiCheck;
  // checks start interval*(1±jitter) after the previous one ended: a doubled call per cycle would exceed this
  const most = Math.ceil(quietMs / (INTERVAL_MS * (1 - JITTER))) + 1;
  t.comment(`${backend.type} quiet ${Math.round(quietMs)} ms: ${backend.checkCall} db=${dbChecks} api=${apiChecks} (agent checks db=${dbAgent} api=${apiAgent}, at most ${most} cycles)`);
  t.ok(dbChecks >= 2 && dbChecks <= most, `db checked once per cycle (${dbChecks} calls in ${Math.round(quietMs)} ms), though two templates use it`);
  t.ok(apiChecks >= 2 && apiChecks <= most, `api checked once per cycle (${apiChecks})`);
  // the agent's own count can be one behind the backend's when a check is in flight at the end
  t.ok(Math.abs(dbChecks - dbAgent) <= 1 && Math.abs(apiChecks - apiAgent) <= 1, 'one backend call per agent check');
  if (backend.checkCall !== backend.readCall) {
    t.equal(backend.calls(backend.readCall, name('db')) - before.dbRead, 0, `no ${backend.readCall} for an unchanged secret`);
    t.equal(backend.calls(backend.readCall, name('api')) - before.apiRead, 0, `no ${backend.readCall} for api either`);
  }
  t.same(since(a, quietMark, (l) => l.msg.startsWith('template ')), [], 'no re-render while nothing changes');
  t.equal(reload.requests.length, 0, 'no reload while nothing changes');

  // ---- 2. rotation: one read, one write per dependent file, one reload ---
  const rotMark = a.logs.length;
  const readsBefore = backend.calls(backend.readCall, name('db'));
  const apiFileBefore = readFileSync(apiFile);
  await backend.rotate(name('db'), { user: 'erlmcp', password: DB2 });
  await waitUntil(() => reload.requests.length >= 1, 'the reload after the rotation', 10_000);
  // a further cycle or two must add nothing
  await new Promise((r) => setTimeout(r, 2 * INTERVAL_MS));
  const written = since(a, rotMark, (l) => l.msg === 'template written').map((l) => String(l.file)).sort();
  const changedLogs = since(a, rotMark, (l) => l.msg === 'secret changed');
  const rotationReads = backend.calls(backend.readCall, name('db')) - readsBefore;
  t.comment(`${backend.type} rotation: ${rotationReads} value read(s) of db (incl. later cycles for Azure), files written ${written.length}, reloads ${reload.requests.length}`);
  t.same(changedLogs.map((l) => l.secret), ['db'], 'the change is seen once');
  t.same(written, [bothFile, dbFile].sort(), 'each file using db is written exactly once');
  t.same(since(a, rotMark, (l) => l.msg.startsWith('template ') && l.file === apiFile), [], 'the file that does not use db is not re-rendered');
  t.equal(reload.requests.length, 1, 'exactly one reload request');
  t.equal(readFileSync(dbFile, 'utf8'), `password=${DB2}\n`, 'db.conf has the new value');
  t.equal(readFileSync(bothFile, 'utf8'), `erlmcp:${DB2}@${API}\n`, 'both.conf has the new value');
  t.same(readFileSync(apiFile), apiFileBefore, 'api.conf untouched');
  if (backend.checkCall !== backend.readCall) t.equal(rotationReads, 1, `one ${backend.readCall} for the new version`);
  const reloadBody = reload.requests[0]!.body;
  t.equal(reload.requests[0]!.method, 'POST');

  // ---- 3. throttling: last good files, backoff, stale, recovery ----------
  const throttleMark = a.logs.length;
  const reloadsBefore = reload.requests.length;
  const readsBeforeThrottle = backend.calls(backend.readCall, name('db'));
  const throttledAt = Date.now();
  backend.throttle([name('db'), name('api')]);
  const lastGood = { db: readFileSync(dbFile, 'utf8'), both: readFileSync(bothFile, 'utf8'), api: readFileSync(apiFile, 'utf8') };
  // poll /readyz from the first throttled moment: 200 until ttl has passed since the last good refresh, then 503
  let notReady: { status: number; stale: string[] } | undefined;
  let readyPolls = 0;
  for (const until = Date.now() + TTL_MS + 8_000; Date.now() < until; ) {
    const r = await readyz(url);
    if (r.status === 503) {
      notReady = r;
      break;
    }
    if (r.status === 200) readyPolls++;
    await new Promise((res) => setTimeout(res, 100));
  }
  const staleAfterMs = Date.now() - throttledAt;
  t.ok(notReady, `/readyz turned 503 ${staleAfterMs} ms into the throttling (ttl ${TTL_MS} ms)`);
  t.ok(notReady && notReady.stale.length > 0 && notReady.stale.every((n) => n === 'api' || n === 'db'), `the secret(s) past ttl are named stale: ${notReady?.stale.join(', ')}`);
  // the last good refresh was at most one interval before the throttling began
  t.ok(staleAfterMs >= TTL_MS - INTERVAL_MS * (1 + JITTER) - 200 && readyPolls > 0, `still ready (${readyPolls} polls) until ttl since the last good refresh`);
  // the other secret's ttl runs out within one more interval
  let bothStale = false;
  for (const until = Date.now() + 3 * INTERVAL_MS; Date.now() < until && !bothStale; ) {
    const r = await readyz(url);
    bothStale = r.status === 503 && r.stale.join() === 'api,db';
    if (!bothStale) await new Promise((res) => setTimeout(res, 100));
  }
  t.ok(bothStale, 'then both throttled secrets are named stale');
  await waitUntil(() => since(a, throttleMark, (l) => l.msg === FAILED && l.secret === 'db').length >= 5, 'five failed checks of db', 15_000);
  const failures = since(a, throttleMark, (l) => l.msg === FAILED && l.secret === 'db');
  t.same(failures.map((l) => l.failures), failures.map((_, i) => i + 1), 'consecutive failures are counted');
  t.ok(failures.every((l) => l.outcome === 'unavailable' && /throttl|RESOURCE_EXHAUSTED/i.test(String(l.err))), 'logged as throttling, retryable');
  const gaps = failures.slice(1).map((l, i) => Date.parse(String(l.time)) - Date.parse(String(failures[i]!.time)));
  t.comment(`${backend.type} throttled: ${failures.length} failed checks of db, retry gaps ${gaps.join(', ')} ms (backoff ${BACKOFF.initialMs}..${BACKOFF.maxMs} ms)`);
  // attempt n would wait a draw in [0 (the first: full jitter) or initial,
  // min(max, initial*2^n)], but a throttled backend is not asked sooner than
  // the secret's next planned check: the wait is the first of its slots (one
  // interval ± jitter apart) at or after the backoff (the log's ms clock rounds)
  gaps.forEach((g, n) => {
    const ceiling = Math.min(BACKOFF.maxMs, BACKOFF.initialMs * 2 ** n);
    const low = INTERVAL_MS * (1 - JITTER);
    const high = ceiling + INTERVAL_MS * (1 + JITTER);
    // log lines are written when each call ends, and call times vary on a
    // loaded machine: two ends can be closer than their slots by that much
    t.ok(g >= low - 200 && g <= high + 750, `retry ${n + 1} waited ${g} ms: no sooner than the interval [${low}, ${high}] (+ call time)`);
  });
  t.equal(readFileSync(dbFile, 'utf8'), lastGood.db, 'db.conf keeps the last good content');
  t.equal(readFileSync(bothFile, 'utf8'), lastGood.both);
  t.equal(readFileSync(apiFile, 'utf8'), lastGood.api);

  const recoverMark = a.logs.length;
  backend.recover();
  let readyAgain = false;
  for (const until = Date.now() + 10_000; Date.now() < until && !readyAgain; ) {
    readyAgain = (await readyz(url)).status === 200;
    if (!readyAgain) await new Promise((res) => setTimeout(res, 100));
  }
  t.ok(readyAgain, 'ready again once the backend answers');
  // one more cycle after recovery must not re-render or reload either
  await new Promise((r) => setTimeout(r, INTERVAL_MS * 1.5));
  t.same(since(a, recoverMark, (l) => l.msg.startsWith('template ') || l.msg === 'secret changed'), [], 'recovery of an unchanged value: no re-render');
  t.equal(reload.requests.length, reloadsBefore, 'no spurious reload after recovery');
  if (backend.checkCall !== backend.readCall) {
    t.equal(backend.calls(backend.readCall, name('db')) - readsBeforeThrottle, 0, `no ${backend.readCall} through throttling and recovery`);
  }
  t.equal(readFileSync(dbFile, 'utf8'), `password=${DB2}\n`);

  a.proc.kill('SIGTERM');
  t.same(await a.exited, { code: 0, signal: null }, 'SIGTERM: clean exit');
  assertNoLeak(t, [a.stdout(), a.stderr(), reloadBody], canaries);
  t.comment(`${backend.type} scenario took ${Math.round(performance.now() - started)} ms`);
}
