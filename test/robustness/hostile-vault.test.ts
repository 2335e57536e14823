// A hostile Vault through the real CLI (the bundle): answers whose numbers
// (lease_duration, renewable, the token's ttl / creation_ttl /
// explicit_max_ttl, KV versions, Retry-After) are absurd, invalid or of the
// wrong type, and a value nested 200k deep. Before the bounds
// (agent/providers/backend-numbers.ts, key-map.ts) and the scheduler's floor
// (agent/scheduler/timing.ts pacedAt), these made `init` exit 1 or `run` hang,
// exit 1, or refetch dynamic credentials ~20 times a second.
//
// Each `run` case counts the requests the fake receives over a fixed window
// while /healthz keeps answering; each case bounds time and the child's peak
// RSS (VmHWM); no secret value appears in any output. Needs `npm run build`.

import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIN_CHECK_GAP_MS } from '../../agent/scheduler/timing.ts';
import { startVaultFake, type HostileAnswers, type VaultFake } from '../fakes/vault/index.ts';
import { startAgent, type AgentProcess } from '../helpers/agent-process.ts';
import { BUNDLE } from '../helpers/cli.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { watchPeakRss } from '../helpers/peak-rss.ts';

const PW_PREFIX = 'canary-Hostile-Pw-';
const KV_CANARY = 'canary-Hostile-Kv-7Rq2xW';
/** the window over which a `run` case counts requests */
const WINDOW_MS = 5_000;
/** a lease's or token's floor lets one name start at t, t+1 s, t+3 s, t+7 s...
 * (gap g, 2g, 4g...): at most ceil(log2(W/g + 1)) = 3 starts in a 5 s window,
 * plus one for the first check planned from init's answer, before any start */
const MAX_CHECKS_IN_WINDOW = Math.ceil(Math.log2(WINDOW_MS / MIN_CHECK_GAP_MS.leased + 1)) + 1;
/** generous for a loaded machine: the bundle idles at ~60-90 MiB */
const MAX_RSS_MIB = 256;
const LEASE_PATHS = /^(database\/creds\/|sys\/leases\/renew$)/;
const TOKEN_PATHS = /^auth\/token\/(lookup-self|renew-self)$/;

interface Workspace {
  dir: string;
  cfg: string;
  vault: VaultFake;
  token: string;
}

async function workspace(t: Test): Promise<Workspace> {
  const dir = mkdtempSync(join(tmpdir(), 'hostile-vault-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const vault = await startVaultFake({ now: Date.now });
  t.teardown(() => vault.close());
  vault.setPolicy('agent', { 'database/creds/*': ['read'], 'sys/leases/*': ['update'], 'secret/data/*': ['read'], 'secret/metadata/*': ['read'] });
  const token = vault.createToken({ policies: ['agent'], ttl: 3600 });
  vault.addDatabaseRole('app', { ttl: 3600, maxTtl: 7200, passwordPrefix: PW_PREFIX });
  vault.putKv('secret/app', { password: KV_CANARY });
  writeFileSync(join(dir, 'token'), token);
  const cfg = join(dir, 'agent.yaml');
  writeFileSync(
    cfg,
    `providers: { vault: { type: vault, address: "${vault.url}", auth: { method: token, tokenFile: ./token } } }
secrets:
  creds: { provider: vault, path: database/creds/app }
  app: { provider: vault, path: secret/data/app }
templates: [ { contents: "{{creds.username}}:{{creds.password}} {{app.password}}", destination: creds.txt } ]
output: { root: ./out }
server: { listen: "127.0.0.1:0" }
init: { timeout: 20s }
`,
  );
  return { dir, cfg, vault, token };
}

/** the canaries, the token, and the rendered password (when there is one) */
function secretsIn(w: Workspace): string[] {
  const file = join(w.dir, 'out/creds.txt');
  const rendered = existsSync(file) ? /:(\S+) /.exec(readFileSync(file, 'utf8'))?.[1] : undefined;
  return [PW_PREFIX, KV_CANARY, w.token, ...(rendered ? [rendered] : [])];
}

/** what the operator reads in the log lines: messages, errors, problems */
function logText(a: AgentProcess): string {
  return a.logs.map((l) => [l.msg, l.err, l.problem].filter((x) => typeof x === 'string').join(' ')).join('\n');
}

async function finished(a: AgentProcess, limitMs: number): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), limitMs).unref());
  const r = await Promise.race([a.exited, timeout]);
  if (r === 'timeout') return { code: null, ms: Date.now() - started };
  return { code: r.code, ms: Date.now() - started };
}

// ---- init ------------------------------------------------------------------

interface InitCase {
  name: string;
  hostile?: HostileAnswers;
  arrange?: (vault: VaultFake) => void;
  code: number;
  message: RegExp;
  /** a warning the agent logs about the number it replaced */
  warns?: RegExp;
  limitMs: number;
}

const INIT_CASES: InitCase[] = [
  {
    name: 'a KV value nested 200k deep is a typed refusal (exit 3), not a RangeError (exit 1)',
    hostile: { paths: /^secret\/data\//, deepNesting: 200_000 },
    code: 3,
    message: /vault secret\/data\/app \(secrets\.app\) answered key "deep" with a value nested more than 64 levels deep: that is not a secret/,
    limitMs: 30_000,
  },
  {
    name: 'dynamic credentials nested 200k deep: exit 3 as well, and the lease given back',
    hostile: { paths: LEASE_PATHS, deepNesting: 200_000 },
    code: 3,
    message: /vault database\/creds\/app \(secrets\.creds\) answered key "deep" with a value nested more than 64 levels deep/,
    limitMs: 30_000,
  },
  {
    name: 'lease_duration 1e999 (Infinity once parsed): taken as 32 days, init succeeds',
    hostile: { paths: LEASE_PATHS, fields: { lease_duration: '1e999' } },
    code: 0,
    message: /init complete/,
    warns: /lease_duration Infinitys is beyond 2764800s \(32 days\); taken as 2764800s/,
    limitMs: 30_000,
  },
  {
    name: 'KV versions 1e999 and -1: no version kept, init succeeds',
    hostile: { paths: /^secret\//, fields: { version: '1e999', current_version: '-1' } },
    code: 0,
    message: /init complete/,
    warns: /metadata\.version is not a whole number >= 1/,
    limitMs: 30_000,
  },
  {
    name: 'a 40-digit Retry-After on a 429: exit 4 at once, not a wait of 1e40 seconds',
    arrange: (vault) => vault.failNext(429, ['rate limit quota exceeded'], 1000, { retryAfter: '9'.repeat(40) }),
    code: 4,
    message: /more than the .* left of init\.timeout/,
    limitMs: 20_000,
  },
  {
    name: 'a token ttl of "soon" and -5 with creation_ttl / explicit_max_ttl 1e999: init succeeds',
    hostile: { paths: TOKEN_PATHS, fields: { ttl: '"soon"', creation_ttl: '1e999', explicit_max_ttl: '-5', renewable: '"yes"' } },
    code: 0,
    message: /init complete/,
    warns: /data\.ttl "soon" is not a positive number of seconds; taken as 300s/,
    limitMs: 30_000,
  },
];

for (const c of INIT_CASES) {
  t.test(`init: ${c.name}`, async (t) => {
    const w = await workspace(t);
    if (c.hostile) w.vault.setHostile(c.hostile);
    c.arrange?.(w.vault);
    const a = startAgent(t, ['init', '-c', w.cfg], { program: BUNDLE });
    const rss = watchPeakRss(a.proc.pid!);
    const { code, ms } = await finished(a, c.limitMs);
    const peak = rss.stop();
    t.equal(code, c.code, `exit ${c.code} (${ms} ms, peak RSS ${peak.toFixed(1)} MiB)`);
    t.ok(ms < c.limitMs, `finished in ${ms} ms`);
    t.ok(peak > 0 && peak < MAX_RSS_MIB, `peak RSS ${peak.toFixed(1)} MiB < ${MAX_RSS_MIB} MiB`);
    t.notMatch(a.stderr(), /RangeError|Maximum call stack|internal error|this is a bug/, 'no internal error');
    if (c.code !== 0) t.match(logText(a), c.message, 'the message says what the backend did');
    else t.equal(readFileSync(join(w.dir, 'out/creds.txt'), 'utf8').includes(KV_CANARY), true, 'the file was rendered');
    if (c.warns) t.match(logText(a), c.warns, 'the replaced number is logged');
    if (c.code !== 0 && c.hostile?.paths === LEASE_PATHS) {
      const refused = w.vault.leases();
      t.ok(refused.length === 1 && refused.every((l) => l.revoked), 'the lease minted with the refused answer was revoked, not left to its TTL');
    }
    t.comment(`figures: ${c.name}: exit ${code}, ${ms} ms, peak RSS ${peak.toFixed(1)} MiB`);
    assertNoLeak(t, [a.stdout(), a.stderr()], secretsIn(w));
  });
}

// ---- run -------------------------------------------------------------------

interface RunCase {
  name: string;
  hostile: HostileAnswers;
  /** requests on API paths matching this are counted */
  counted: RegExp;
  warns: RegExp;
}

const leaseCase = (value: string, warns: RegExp): RunCase => ({
  name: `lease_duration ${value}`,
  hostile: { paths: LEASE_PATHS, fields: { lease_duration: value } },
  counted: LEASE_PATHS,
  warns,
});

const RUN_CASES: RunCase[] = [
  leaseCase('0', /lease_duration 0 is not a positive number of seconds; taken as 300s/),
  leaseCase('-5', /lease_duration -5 is not a positive number of seconds; taken as 300s/),
  leaseCase('0.4', /lease_duration 0.4 is not whole seconds; taken as 1s/),
  leaseCase('1.5', /lease_duration 1.5 is not whole seconds; taken as 1s/),
  leaseCase('"3600"', /lease_duration "3600" is not a positive number of seconds/),
  leaseCase('null', /lease_duration null is not a positive number of seconds/),
  leaseCase('1e30', /lease_duration 1e\+30s is beyond 2764800s/),
  leaseCase('1e999', /lease_duration Infinitys is beyond 2764800s/),
  {
    name: 'lease_duration 1 and renewable "yes" (not renewable: refetch each time)',
    hostile: { paths: LEASE_PATHS, fields: { lease_duration: '1', renewable: '"yes"' } },
    counted: LEASE_PATHS,
    warns: /sidecar running/,
  },
  {
    name: 'token ttl -5 (lookup-self), renew-self lease_duration -5',
    hostile: { paths: TOKEN_PATHS, fields: { ttl: '-5', lease_duration: '-5' } },
    counted: TOKEN_PATHS,
    warns: /data\.ttl -5 is not a positive number of seconds; taken as 300s/,
  },
  {
    name: 'token ttl 1e999, creation_ttl and explicit_max_ttl "x"',
    hostile: { paths: TOKEN_PATHS, fields: { ttl: '1e999', lease_duration: '1e999', creation_ttl: '"x"', explicit_max_ttl: '"x"' } },
    counted: TOKEN_PATHS,
    warns: /data\.ttl Infinitys is beyond 2764800s/,
  },
  {
    name: 'token ttl 0.3 (renew-self answers 0.3 too)',
    hostile: { paths: TOKEN_PATHS, fields: { ttl: '0.3', lease_duration: '0.3' } },
    counted: TOKEN_PATHS,
    warns: /data\.ttl 0.3 is not whole seconds; taken as 1s/,
  },
];

async function healthzAnswers(url: string, until: number): Promise<{ ok: number; failed: number }> {
  let ok = 0;
  let failed = 0;
  while (Date.now() < until) {
    try {
      const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (r.status === 200) ok++;
      else failed++;
    } catch {
      failed++;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { ok, failed };
}

for (const c of RUN_CASES) {
  t.test(`run: ${c.name}`, async (t) => {
    const w = await workspace(t);
    w.vault.setHostile(c.hostile);
    const startedAt = Date.now();
    const a = startAgent(t, ['run', '-c', w.cfg], { program: BUNDLE });
    const rss = watchPeakRss(a.proc.pid!);
    const listening = await a.waitForLog((l) => l.msg === 'health server listening', 'the health server', 30_000);
    await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running', 30_000);
    const upMs = Date.now() - startedAt;
    const from = w.vault.requests.length;
    const health = await healthzAnswers(String(listening.url), Date.now() + WINDOW_MS);
    const inWindow = w.vault.requests.slice(from).filter((r) => c.counted.test(r.path.replace(/^\/v1\//, '')));
    const peak = rss.mib();
    const creds = inWindow.filter((r) => r.path.startsWith('/v1/database/creds/')).length;
    t.ok(inWindow.length <= MAX_CHECKS_IN_WINDOW, `${inWindow.length} requests in ${WINDOW_MS / 1000} s (at most ${MAX_CHECKS_IN_WINDOW}): ${inWindow.map((r) => `${r.method} ${r.path}`).join(', ') || 'none'}`);
    t.ok(creds <= MAX_CHECKS_IN_WINDOW, `${creds} new database users in the window`);
    t.ok(health.ok >= 10 && health.failed === 0, `/healthz answered ${health.ok} times, failed ${health.failed}`);
    t.ok(upMs < 30_000, `up in ${upMs} ms`);
    t.match(logText(a), c.warns, 'the replaced number is logged');
    a.proc.kill('SIGTERM');
    const { code, ms } = await finished(a, 15_000);
    const finalPeak = rss.stop();
    t.equal(code, 0, `SIGTERM: exit 0 in ${ms} ms`);
    t.ok(finalPeak > 0 && finalPeak < MAX_RSS_MIB, `peak RSS ${finalPeak.toFixed(1)} MiB < ${MAX_RSS_MIB} MiB`);
    t.notMatch(a.stderr(), /RangeError|Maximum call stack|TimeoutOverflowWarning|this is a bug/, 'no internal error, no timer overflow');
    t.comment(`figures: ${c.name}: ${inWindow.length} requests (${creds} new users) in ${WINDOW_MS / 1000} s, up in ${upMs} ms, peak RSS ${Math.max(peak, finalPeak).toFixed(1)} MiB, stop in ${ms} ms`);
    assertNoLeak(t, [a.stdout(), a.stderr()], secretsIn(w));
  });
}
