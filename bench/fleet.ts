// A fleet against one Vault: N agents (default 50), each with 5 secrets of its
// own and 2 shared by all (KV v2), checked every 10 s, against one real
// OpenBao dev server with a file audit device. The same run for each peer
// that is installed (the OpenBao agent, consul-template), one after another,
// each against a fresh server. Prints the table with ratios (docs/fleet.md).
//
//   node bench/fleet.ts [--agents 50] [--interval 10] [--steady 40] [--outage 30]
//                       [--after 30] [--quota 40] [--busy 2] [--peers auto|none] [--json file]
//
// Every request reaches the server through a counting proxy in this process,
// which notes when each was sent and when the server answered it (a 429
// counts as an attempt). The steady spread counts requests by when they were
// sent (the fleet's schedule, not the loaded server's hiccups); the peak after
// an outage by when the server answered them (the calls a stopped server held
// land at the moment it takes them up).
//
//   steady         requests/s over --steady s, and the busiest second / mean;
//                  with --busy processes spinning, the p99 gap between two
//                  checks of one secret / the interval (both cores busy)
//   outage         SIGSTOP the server for --outage s, then SIGCONT: the busiest
//                  second of the --after s that follow / steady rate, and the
//                  time until every agent's /readyz is 200 (and /readyz?fresh:
//                  every value refreshed; each secret has ttl = 2 intervals)
//   quota          a rate-limit quota at half the steady rate: attempts/s / steady
//
// A benchmark, not a test: nothing here passes or fails (test/bench/fleet.test.ts
// checks that it runs and prints a complete table at a tiny size).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { freePort, startDevBao, type Bao } from '../test/helpers/openbao.ts';
import { auditPeak, describeBreakdown, peakBreakdown, type PeakBreakdown, type ProxiedCall } from './fleet-peak.ts';
import { checkGaps, rankQuantile, startBurners } from './check-gaps.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BUNDLE = path.join(ROOT, 'dist/erlmcp-secrets.js');
const IMAGE_FLAGS = (JSON.parse(readFileSync(path.join(ROOT, 'image/node-flags.json'), 'utf8')) as { flags: string[] }).flags;
const CACHE = process.env.ERLMCP_SECRETS_CACHE || path.join(process.env.HOME ?? '/root', '.cache/erlmcp-secrets');
const CONSUL_TEMPLATE = path.join(CACHE, 'consul-template-v0.41.1', 'consul-template');
const OWN = 5;
const SHARED = 2;

interface Options {
  agents: number;
  intervalS: number;
  steadyS: number;
  outageS: number;
  afterS: number;
  quotaS: number;
  busy: number;
  peers: 'auto' | 'none';
  json: string | undefined;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { agents: 50, intervalS: 10, steadyS: 40, outageS: 30, afterS: 30, quotaS: 40, busy: 2, peers: 'auto', json: undefined };
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || n > 10_000) throw new Error(`${flag} needs a positive number (got ${v})`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, v] = [argv[i]!, argv[i + 1]];
    i++;
    switch (flag) {
      case '--agents': o.agents = Math.round(num(flag, v)); break;
      case '--interval': o.intervalS = num(flag, v); break;
      case '--steady': o.steadyS = num(flag, v); break;
      case '--outage': o.outageS = num(flag, v); break;
      case '--after': o.afterS = num(flag, v); break;
      case '--quota': o.quotaS = num(flag, v); break;
      case '--busy': o.busy = v === '0' ? 0 : Math.round(num(flag, v)); break;
      case '--peers': if (v !== 'auto' && v !== 'none') throw new Error('--peers auto|none'); o.peers = v; break;
      case '--json': o.json = v; break;
      default: throw new Error(`unknown option ${flag}; see the head of bench/fleet.ts`);
    }
  }
  return o;
}

// ---- the server and the counting proxy -------------------------------------------

/** one request through the proxy: which agent sent it, when, when it was
 * answered or given up (fleet-peak.ts) */
interface Answered extends ProxiedCall {
  status: number;
}

interface CountingProxy {
  /** the address agent `a` is given */
  urlFor(a: number): string;
  log: Answered[];
  close(): Promise<void>;
}

/** forwards every request to the server, recording when each was answered; one
 * listening port per agent, so that every request is known by its agent */
async function countingProxy(target: string, agents: number): Promise<CountingProxy> {
  const log: Answered[] = [];
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const servers = [...Array(agents).keys()].map((a) =>
    http.createServer((req, res) => {
      const sentAt = Date.now();
      const reqPath = (req.url ?? '').split('?')[0]!;
      let answered = false;
      const out = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
          r.on('end', () => {
            answered = true;
            log.push({ agent: a, sentAt, at: Date.now(), status: r.statusCode ?? 0, path: reqPath });
          });
        },
      );
      out.on('error', () => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
      req.pipe(out);
      res.on('close', () => {
        if (!answered && !res.writableFinished) log.push({ agent: a, sentAt, at: Date.now(), status: 0, path: reqPath, aborted: true });
        out.destroy();
      });
    }),
  );
  for (const s of servers) await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  return {
    urlFor: (a) => `http://127.0.0.1:${(servers[a]!.address() as AddressInfo).port}`,
    log,
    close: async () => {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((ok) => {
              s.closeAllConnections();
              s.close(() => ok());
            }),
        ),
      );
      agent.destroy();
    },
  };
}

/** startDevBao registers its cleanup with a tap Test: collect it here instead */
function teardowns(): { t: Test; run(): Promise<void> } {
  const fns: Array<() => unknown> = [];
  return { t: { teardown: (fn: () => unknown) => void fns.push(fn) } as unknown as Test, run: async () => { for (const fn of fns.reverse()) await fn(); } };
}

const secretPath = (agent: number, j: number): string => (j < OWN ? `fleet/a${agent}/own${j}` : `fleet/shared${j - OWN}`);
const isSecretRead = (p: string): boolean => p.startsWith('/v1/secret/');

async function seed(bao: Bao, o: Options): Promise<void> {
  for (let j = OWN; j < OWN + SHARED; j++) await bao.ok('POST', `secret/data/${secretPath(0, j)}`, { data: { value: `shared-${j}` } });
  for (let a = 0; a < o.agents; a++) for (let j = 0; j < OWN; j++) await bao.ok('POST', `secret/data/${secretPath(a, j)}`, { data: { value: `own-${a}-${j}` } });
}

// ---- the agents compared ----------------------------------------------------------

interface Launch {
  cmd: string;
  args: string[];
  /** /readyz, for agents that have one */
  readyUrl?: string;
  output: string;
}

interface Subject {
  id: string;
  label: string;
  available(): string | undefined;
  launch(dir: string, a: number, server: string, token: string, o: Options): Promise<Launch>;
}

const names = [...Array(OWN + SHARED).keys()];

const ours: Subject = {
  id: 'ours',
  label: 'erlmcp-secrets',
  available: () => (existsSync(BUNDLE) ? undefined : 'dist/erlmcp-secrets.js is missing: npm run build'),
  async launch(dir, a, server, token, o) {
    const port = await freePort();
    writeFileSync(path.join(dir, 'token'), token);
    const cfg = path.join(dir, 'agent.yaml');
    writeFileSync(
      cfg,
      `providers:
  bao: { type: vault, address: "${server}", auth: { method: token, tokenFile: ./token } }
secrets:
${names.map((j) => `  s${j}: { provider: bao, path: secret/data/${secretPath(a, j)}, ttl: ${2 * o.intervalS}s }`).join('\n')}
templates:
  - { contents: "${names.map((j) => `{{s${j}.value}}`).join(' ')}", destination: out.txt }
output: { root: ./out }
log: { level: warn }
server: { listen: "127.0.0.1:${port}" }
refresh: { interval: ${o.intervalS}s }
`,
    );
    return { cmd: process.execPath, args: [...IMAGE_FLAGS, BUNDLE, 'run', '-c', cfg], readyUrl: `http://127.0.0.1:${port}/readyz`, output: path.join(dir, 'out/out.txt') };
  },
};

function goTemplate(dir: string, a: number): string {
  const file = path.join(dir, 'out.ctmpl');
  writeFileSync(file, names.map((j) => `{{ with secret "secret/data/${secretPath(a, j)}" }}{{ .Data.data.value }}{{ end }}`).join(' '));
  return file;
}

const baoAgent: Subject = {
  id: 'bao-agent',
  label: 'OpenBao agent',
  available: () => undefined, // the same `bao` as the server
  async launch(dir, a, server, token, o) {
    writeFileSync(path.join(dir, 'token'), token);
    const cfg = path.join(dir, 'agent.hcl');
    const output = path.join(dir, 'out.txt');
    writeFileSync(
      cfg,
      `vault { address = "${server}" }
auto_auth {
  method "token_file" { config = { token_file_path = "${path.join(dir, 'token')}" } }
}
template_config { static_secret_render_interval = "${o.intervalS}s" }
template {
  source = "${goTemplate(dir, a)}"
  destination = "${output}"
}
`,
    );
    return { cmd: 'bao', args: ['agent', `-config=${cfg}`, '-log-level=warn'], output };
  },
};

const consulTemplate: Subject = {
  id: 'consul-template',
  label: 'consul-template',
  available: () => (existsSync(CONSUL_TEMPLATE) ? undefined : `${CONSUL_TEMPLATE} is missing: bash test/setup/install-consul-template.sh`),
  async launch(dir, a, server, token, o) {
    const cfg = path.join(dir, 'ct.hcl');
    const output = path.join(dir, 'out.txt');
    // KV v2 values carry no lease: consul-template re-reads them every default_lease_duration (x ~0.9)
    writeFileSync(
      cfg,
      `log_level = "warn"
vault {
  address = "${server}"
  token = "${token}"
  renew_token = false
  default_lease_duration = "${o.intervalS}s"
}
template {
  source = "${goTemplate(dir, a)}"
  destination = "${output}"
}
`,
    );
    return { cmd: CONSUL_TEMPLATE, args: [`-config=${cfg}`], output };
  },
};

// ---- measuring ----------------------------------------------------------------------

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function status(url: string): Promise<number> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0;
  }
}

/** requests per second in [from, to): per-second counts, by when the agents
 * sent them ('sentAt': the fleet's schedule) or when the server answered them
 * ('at': the server's load, calls a stopped server held included) */
function perSecond(log: Answered[], from: number, to: number, by: 'sentAt' | 'at'): number[] {
  const buckets = new Array<number>(Math.max(1, Math.floor((to - from) / 1000))).fill(0);
  for (const r of log) {
    // a call the agent gave up on was sent, but never answered
    if (r.aborted && by === 'at') continue;
    if (r[by] >= from && r[by] < from + buckets.length * 1000 && isSecretRead(r.path)) buckets[Math.floor((r[by] - from) / 1000)]!++;
  }
  return buckets;
}

/** p99 of the gaps between two reads of one agent's own secret sent in [from, to) */
function p99Gap(log: Answered[], from: number, to: number): number {
  const reads = log
    .filter((r) => r.sentAt >= from && r.sentAt < to && /\/own\d$/.test(r.path) && (r.path.includes('/v1/secret/metadata/') || r.path.includes('/v1/secret/data/')))
    .map((r) => ({ secret: r.path.replace('/metadata/', '/data/'), at: r.sentAt }));
  return rankQuantile(checkGaps(reads), 0.99);
}

interface Figures {
  subject: string;
  steadyRate: number;
  perAgent: number;
  spread: number;
  p99GapRatio: number;
  outagePeakRatio: number;
  readyAfterS: number | undefined;
  freshAfterS: number | undefined;
  quotaRatio: number;
  /** what the busiest second after the stop is made of */
  outagePeak: PeakBreakdown;
  note?: string;
}

async function waitAll(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

interface UntilReady {
  /** seconds from `since` until every url answered 200, or undefined */
  seconds: number | undefined;
  /** answers that were not 200 (503: not ready) */
  notReady: number;
  /** polls that got no answer within 2 s (an agent starved of CPU) */
  noAnswer: number;
}

/** polls every url (every 100 ms) until each has answered 200 once */
async function timeUntil200(urls: string[], since: number, timeoutMs: number): Promise<UntilReady> {
  const pending = new Set(urls);
  const until = Date.now() + timeoutMs;
  let notReady = 0;
  let noAnswer = 0;
  // when the poll that found the last one ready was sent: how long the bench
  // took to get its answers from 50 busy processes is not the agents' delay
  let readyAt = since;
  while (pending.size > 0 && Date.now() < until) {
    const askedAt = Date.now();
    const codes = await Promise.all([...pending].map(async (u) => [u, await status(u)] as const));
    for (const [u, c] of codes) {
      if (c === 200) {
        pending.delete(u);
        readyAt = Math.max(readyAt, askedAt);
      } else if (c === 0) noAnswer++;
      else notReady++;
    }
    if (pending.size > 0) await sleep(100);
  }
  return { seconds: pending.size === 0 ? (readyAt - since) / 1000 : undefined, notReady, noAnswer };
}

/** samples every url every 2 s while `running()`: how many answers were 503 */
async function notReadyDuring(urls: string[], running: () => boolean): Promise<number> {
  let n = 0;
  while (running()) {
    for (const c of await Promise.all(urls.map(status))) if (c !== 200 && c !== 0) n++;
    await sleep(2_000);
  }
  return n;
}

async function measure(subject: Subject, o: Options): Promise<Figures> {
  const td = teardowns();
  const dir = mkdtempSync(path.join(tmpdir(), `fleet-${subject.id}-`));
  const procs: ChildProcess[] = [];
  const burners: ChildProcess[] = [];
  try {
    // OpenBao 2 takes audit devices from its config only
    const bao = await startDevBao(td.t, { config: `audit "file" "fleet" {\n  options {\n    file_path = ${JSON.stringify(path.join(dir, 'audit.log'))}\n  }\n}\n` });
    await seed(bao, o);
    const proxy = await countingProxy(bao.url, o.agents);
    td.t.teardown(() => proxy.close());
    const launches: Launch[] = [];
    for (let a = 0; a < o.agents; a++) {
      const adir = path.join(dir, `a${a}`);
      mkdirSync(adir, { recursive: true });
      const l = await subject.launch(adir, a, proxy.urlFor(a), bao.rootToken, o);
      const p = spawn(l.cmd, l.args, { cwd: adir, env: { PATH: process.env.PATH, HOME: adir }, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-2000)));
      p.on('exit', (code) => {
        if (code !== null && code !== 0) process.stderr.write(`${subject.id} agent ${a} exited ${code}: ${err}\n`);
      });
      procs.push(p);
      launches.push(l);
    }
    await waitAll('every agent to render', async () => launches.every((l) => existsSync(l.output)), 60_000 + o.agents * 3_000);
    if (launches[0]!.readyUrl) await waitAll('every /readyz 200', async () => (await Promise.all(launches.map((l) => status(l.readyUrl!)))).every((c) => c === 200), 60_000);
    // one interval for start-up reads to pass
    await sleep(o.intervalS * 1000 * 1.5);

    // steady, with both cores busy
    burners.push(...startBurners(o.busy, o.steadyS * 1000 + 2000));
    const s0 = Date.now();
    await sleep(o.steadyS * 1000);
    const s1 = Date.now();
    const load = loadavg()[0]!;
    const steady = perSecond(proxy.log, s0, s1, 'sentAt');
    const steadyRate = steady.reduce((x, y) => x + y, 0) / steady.length;
    const spread = Math.max(...steady) / steadyRate;
    const p99 = p99Gap(proxy.log, s0, s1) / (o.intervalS * 1000);
    await sleep(2_000); // let the burners end

    // outage
    const readyUrls = launches.flatMap((l) => (l.readyUrl ? [l.readyUrl] : []));
    const stopAt = Date.now();
    bao.signal('SIGSTOP');
    let stopped = true;
    const during = notReadyDuring(readyUrls, () => stopped);
    await sleep(o.outageS * 1000);
    stopped = false;
    const resumedAt = Date.now();
    bao.signal('SIGCONT');
    const loadAtResume = loadavg()[0]!;
    const unreadyDuringOutage = await during;
    const [readyAfter, freshAfter] = readyUrls.length
      ? await Promise.all([timeUntil200(readyUrls, resumedAt, o.afterS * 1000), timeUntil200(readyUrls.map((u) => `${u}?fresh`), resumedAt, o.afterS * 1000)])
      : [undefined, undefined];
    await sleep(Math.max(0, resumedAt + o.afterS * 1000 - Date.now()));
    const after = perSecond(proxy.log, resumedAt, resumedAt + o.afterS * 1000, 'at');
    const outagePeakRatio = Math.max(...after) / steadyRate;
    const outagePeak: PeakBreakdown = { ...peakBreakdown(proxy.log, stopAt, resumedAt, o.afterS * 1000), serverPeak: auditPeak(path.join(dir, 'audit.log'), resumedAt, o.afterS * 1000) };

    // a rate-limit quota at half the steady rate
    const rate = Math.max(0.5, Math.round((steadyRate / 2) * 10) / 10);
    // on the KV mount only: the bench's own calls to the server are not throttled
    await bao.ok('POST', 'sys/quotas/rate-limit/fleet', { path: 'secret/', rate, interval: '1s' });
    await sleep(o.intervalS * 1000); // let the first throttled round pass
    const q0 = Date.now();
    await sleep(o.quotaS * 1000);
    const quota = perSecond(proxy.log, q0, Date.now(), 'sentAt');
    const quotaRate = quota.reduce((x, y) => x + y, 0) / quota.length;
    await bao.ok('DELETE', 'sys/quotas/rate-limit/fleet');
    const throttled = proxy.log.filter((r) => r.at >= q0 && r.status === 429).length;

    return {
      subject: subject.label,
      steadyRate,
      perAgent: steadyRate / o.agents,
      spread,
      p99GapRatio: p99,
      outagePeakRatio,
      readyAfterS: readyAfter?.seconds,
      freshAfterS: freshAfter?.seconds,
      quotaRatio: quotaRate / steadyRate,
      outagePeak,
      note:
        `load average ${load.toFixed(1)} on ${availableParallelism()} cores at the end of the steady phase, ${loadAtResume.toFixed(1)} at the resume; the stop lasted ${((resumedAt - stopAt) / 1000).toFixed(2)} s; quota ${rate}/s: ${throttled} answered 429` +
        (readyAfter && freshAfter
          ? `; /readyz during the stop: ${unreadyDuringOutage} answers 503; after it, until all ready: ${readyAfter.notReady} answers 503, ${readyAfter.noAnswer} polls unanswered within 2 s; until all fresh: ${freshAfter.notReady} answers 503, ${freshAfter.noAnswer} unanswered`
          : ''),
    };
  } finally {
    for (const p of [...procs, ...burners]) p.kill('SIGTERM');
    await sleep(500);
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await td.run();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the table -----------------------------------------------------------------------

const f1 = (n: number | undefined, unit = ''): string => (n === undefined || Number.isNaN(n) ? 'n/a' : `${n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2)}${unit}`);

export function table(rows: Figures[], o: Options): string {
  const head = `| figure (N = ${o.agents}, ${OWN} own + ${SHARED} shared secrets, ${o.intervalS} s interval) | goal | ${rows.map((r) => r.subject).join(' | ')} |`;
  const line = (label: string, goal: string, cell: (r: Figures) => string): string => `| ${label} | ${goal} | ${rows.map(cell).join(' | ')} |`;
  return [
    head,
    `|---|---|${rows.map(() => '---').join('|')}|`,
    line('steady requests/s (per agent)', '', (r) => `${f1(r.steadyRate)} (${f1(r.perAgent)})`),
    line('busiest second / mean second', '<= 2x', (r) => `${f1(r.spread)}x`),
    line(`p99 gap between checks of a secret / interval (${o.busy} busy processes)`, '<= 1.2x', (r) => `${f1(r.p99GapRatio)}x`),
    line(`after a ${o.outageS} s server stop: busiest second / steady rate`, '<= 3x', (r) => `${f1(r.outagePeakRatio)}x`),
    line('every agent /readyz 200 again, s after the server is back', '<= 2 s', (r) => (r.readyAfterS === undefined ? 'no readiness' : `${f1(r.readyAfterS)} s`)),
    line('every agent fresh again (/readyz?fresh), s after the server is back', '', (r) => (r.freshAfterS === undefined ? 'no readiness' : `${f1(r.freshAfterS)} s`)),
    line('attempts/s under a quota at half the steady rate / steady', '<= 1.0x', (r) => `${f1(r.quotaRatio)}x`),
  ].join('\n');
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const subjects: Subject[] = [ours, ...(o.peers === 'auto' ? [baoAgent, consulTemplate] : [])];
  const rows: Figures[] = [];
  const skipped: string[] = [];
  for (const s of subjects) {
    const missing = s.available();
    if (missing) {
      skipped.push(`${s.label}: ${missing}`);
      continue;
    }
    process.stderr.write(`fleet: ${s.label}, ${o.agents} agents...\n`);
    rows.push(await measure(s, o));
    process.stderr.write(`${JSON.stringify(rows.at(-1))}\n`);
  }
  if (rows.length === 0) throw new Error(`nothing to measure: ${skipped.join('; ')}`);
  console.log(table(rows, o));
  for (const r of rows) if (r.note) console.log(`- ${r.subject}: ${r.note}`);
  for (const r of rows) console.log(`- ${r.subject}: ${describeBreakdown(r.outagePeak)}`);
  for (const s of skipped) console.log(`- not measured: ${s}`);
  if (o.json) writeFileSync(o.json, `${JSON.stringify({ options: o, rows, skipped }, null, 2)}\n`);
}

if (import.meta.main) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
