// The sidecar's running costs, as figures (not pass/fail):
//
//   1. RSS of `erlmcp-secrets run` (the built bundle in a real child process,
//      file provider, 100 secrets, refresh every 100 ms) after N refresh
//      cycles, with plain node and with the image's node flags
//      (image/node-flags.json), against a bare
//      `node -e 'setInterval(()=>{},1000)'` on the same node binary, and the
//      floor of any Node sidecar of this shape (HTTP server, fs.watch, a
//      read every 100 ms). Target: at most 1.25x the bare node. Two more
//      floors add the libraries (bench/floors/): those the brief mandates
//      (chokidar, pino, mustache) and then the agent's own choices (yaml,
//      zod/mini, prom-client), each bundled like the program.
//   2. CPU time per refresh cycle with 100 secrets, in-process on a
//      ManualClock (so only the work is measured, not waiting): unchanged
//      cycles (file provider; Vault fake KV v2, whose server runs in this
//      process, so its figure is an upper bound) and a cycle where all 100
//      changed (fetch, validate, re-render, write).
//   3. latency from a detected change (provider.changed() returned true) to
//      the reload notifier finishing, real clock, wait.min 0: exec (`true`),
//      http (a local server), signal (SIGHUP to a process). p50/p99.
//      Target: p99 under 100 ms.
//
//   node bench/sidecar.ts [cycles-for-rss=300] [latency-samples=200]
//
// Prints a table and writes bench/results/sidecar.json.

import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InvalidationRelay } from '../agent/pipeline/gate.ts';
import { parseConfigText, type AgentConfig } from '../agent/config/load.ts';
import { silentLogger } from '../agent/log/logger.ts';
import { runInit } from '../agent/pipeline/init.ts';
import { prepareTemplates } from '../agent/pipeline/prepare-templates.ts';
import { openProviders } from '../agent/providers/open.ts';
import type { Provider } from '../agent/providers/provider.ts';
import type { Notifier } from '../agent/reload/notifier.ts';
import { ManualClock } from '../agent/scheduler/manual-clock.ts';
import { startSidecar } from '../agent/sidecar/run.ts';
import { startVaultFake } from '../test/fakes/vault/index.ts';
import { bundleFloor } from './floors/bundle.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const RSS_CYCLES = Number(process.argv[2] ?? 300);
const SAMPLES = Number(process.argv[3] ?? 200);
const N_SECRETS = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const tempDirs: string[] = [];
process.on('exit', () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'bench-sidecar-'));
  tempDirs.push(d);
  return d;
}

/** 100 file secrets and one template using all of them */
function fileSetup(dir: string, extra: string, value = (i: number) => `bench-value-${i}-0`): string {
  mkdirSync(path.join(dir, 'secrets'), { recursive: true });
  for (let i = 0; i < N_SECRETS; i++) writeFileSync(path.join(dir, 'secrets', `s${i}`), value(i));
  const secrets = Array.from({ length: N_SECRETS }, (_, i) => `  s${i}: { provider: local }`).join('\n');
  const body = Array.from({ length: N_SECRETS }, (_, i) => `S${i}={{s${i}.value}}`).join('\\n');
  return `providers: { local: { type: file, path: ./secrets } }
secrets:
${secrets}
templates: [ { contents: "${body}\\n", destination: all.env } ]
output: { root: ./out }
${extra}`;
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

async function settledRss(child: ChildProcess, waitMs: number): Promise<number> {
  await sleep(waitMs);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(rssKb(child.pid!));
    await sleep(200);
  }
  return Math.round(samples.reduce((a, b) => a + b, 0) / samples.length);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

/** node's flags in the image (image/node-flags.json) */
const IMAGE_FLAGS = (JSON.parse(readFileSync(path.join(ROOT, 'image/node-flags.json'), 'utf8')) as { flags: string[] }).flags;
const BUNDLE = path.join(ROOT, 'dist/erlmcp-secrets.js');

/** The least any Node sidecar of this shape costs: an HTTP server on
 * loopback, one fs.watch, a file read every 100 ms. Context for the ratio,
 * not a target. */
const FLOOR_SIDECAR = `
const http = require('node:http'); const fs = require('node:fs');
http.createServer((q, r) => r.end('ok')).listen(0, '127.0.0.1');
fs.watch(process.argv[1], () => {});
setInterval(() => fs.readFileSync(process.argv[1] + '/s0'), 100);
`;

async function rssFigures(): Promise<Record<string, number | string>> {
  const bare = spawn(process.execPath, ['-e', 'setInterval(()=>{},1000)'], { stdio: 'ignore' });
  const bareKb = await settledRss(bare, 1500);
  await stopChild(bare);
  const out: Record<string, number | string> = { bareNodeKb: bareKb, imageFlags: IMAGE_FLAGS.join(' ') };
  if (!existsSync(BUNDLE)) throw new Error('run `npm run build` first (npm run bench does)');

  const floorDir = tempDir();
  fileSetup(floorDir, '');
  const floor = spawn(process.execPath, [...IMAGE_FLAGS, '-e', FLOOR_SIDECAR, path.join(floorDir, 'secrets')], { stdio: 'ignore' });
  out.floorSidecarKb = await settledRss(floor, 3000);
  out.floorSidecarRatio = Number((out.floorSidecarKb / bareKb).toFixed(2));
  await stopChild(floor);
  for (const name of ['sidecar-mandated', 'sidecar-chosen'] as const) {
    const lib = spawn(process.execPath, [...IMAGE_FLAGS, await bundleFloor(name, floorDir), path.join(floorDir, 'secrets')], { stdio: 'ignore' });
    const key = name === 'sidecar-mandated' ? 'floorMandatedLibs' : 'floorChosenLibs';
    out[`${key}Kb`] = await settledRss(lib, 3000);
    out[`${key}Ratio`] = Number(((out[`${key}Kb`] as number) / bareKb).toFixed(2));
    await stopChild(lib);
  }

  // the bundle as users run it: dist/erlmcp-secrets.js with its code cache
  // warm (the image ships one), plain `node` and node with the image's flags
  const cache = tempDir();
  const variants = [
    ['bundle', N_SECRETS, []],
    ['image', N_SECRETS, IMAGE_FLAGS],
    ['image1', 1, IMAGE_FLAGS],
  ] as const;
  for (const [label, n, flags] of variants) {
    const dir = tempDir();
    const cfg = fileSetup(dir, 'server: { listen: "127.0.0.1:0" }\nrefresh: { interval: 100ms, jitter: 0 }\nlog: { level: warn }\n');
    writeFileSync(path.join(dir, 'agent.yaml'), n === N_SECRETS ? cfg : cfg.replace(/secrets:\n(  s\d+: \{ provider: local \}\n)+/, 'secrets:\n  s0: { provider: local }\n').replace(/templates: .*\n/, 'templates: [ { contents: "{{s0.value}}", destination: s0.txt } ]\n'));
    const env = { PATH: process.env.PATH, ERLMCP_SECRETS_CODE_CACHE: cache };
    // one short run fills the code cache, as the image's warm stage does
    const warm = spawn(process.execPath, [...flags, BUNDLE, 'init', '-c', path.join(dir, 'agent.yaml')], { stdio: 'ignore', env });
    await new Promise((r) => warm.once('exit', r));
    const child = spawn(process.execPath, [...flags, BUNDLE, 'run', '-c', path.join(dir, 'agent.yaml')], { stdio: ['ignore', 'ignore', 'pipe'], env });
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    out[`${label}StartKb`] = await settledRss(child, 2000);
    // N cycles at 100 ms, each checking every secret
    await sleep(RSS_CYCLES * 100);
    if (child.exitCode !== null) throw new Error(`run exited early: ${err.slice(-2000)}`);
    const kb = await settledRss(child, 0);
    await stopChild(child);
    out[`${label}Kb`] = kb;
    out[`${label}Ratio`] = Number((kb / bareKb).toFixed(2));
  }
  return out;
}

async function cpuPerCycle(): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  const CYCLES = 50;
  const INTERVAL = 10_000;

  // file provider, nothing changes
  {
    const dir = tempDir();
    const clock = new ManualClock();
    const config = parseConfigText(fileSetup(dir, `server: { enabled: false }\nrefresh: { interval: 10s, jitter: 0 }\n`), path.join(dir, 'agent.yaml'), dir);
    // the file provider's watchers (one chokidar per secret) are off: they
    // are the provider's cost, measured separately below
    const s = await sidecarOn(config, clock, [], noWatch);
    await step(clock, s.idle, INTERVAL); // warm up
    let t0 = process.cpuUsage();
    for (let i = 0; i < CYCLES; i++) await step(clock, s.idle, INTERVAL);
    result.fileUnchangedMs = cpuMs(t0) / CYCLES;

    // every secret changes before each cycle
    let changedTotal = 0;
    for (let i = 0; i < 10; i++) {
      for (let k = 0; k < N_SECRETS; k++) writeFileSync(path.join(dir, 'secrets', `s${k}`), `bench-value-${k}-${i + 1}`);
      t0 = process.cpuUsage();
      await step(clock, s.idle, INTERVAL);
      changedTotal += cpuMs(t0);
    }
    result.fileAllChangedMs = changedTotal / 10;
    await s.stop();
  }

  // the same change cycle with the file provider's per-secret watchers on
  {
    const dir = tempDir();
    const clock = new ManualClock();
    const config = parseConfigText(fileSetup(dir, `server: { enabled: false }\nrefresh: { interval: 10s, jitter: 0 }\n`), path.join(dir, 'agent.yaml'), dir);
    const s = await sidecarOn(config, clock, []);
    await sleep(500); // watchers ready
    let total = 0;
    for (let i = 0; i < 5; i++) {
      const t0 = process.cpuUsage();
      for (let k = 0; k < N_SECRETS; k++) writeFileSync(path.join(dir, 'secrets', `s${k}`), `bench-value-${k}-${i + 1}`);
      await sleep(300); // let the watchers see it
      await step(clock, s.idle, INTERVAL);
      total += cpuMs(t0);
    }
    result.fileAllChangedWithWatchersMs = total / 5;
    await s.stop();
  }

  // Vault fake (KV v2 metadata checks), nothing changes; the fake's own CPU is included
  {
    const dir = tempDir();
    const clock = new ManualClock();
    const vault = await startVaultFake({ now: () => clock.now() });
    for (let i = 0; i < N_SECRETS; i++) vault.putKv(`secret/s${i}`, { value: `bench-value-${i}` });
    writeFileSync(path.join(dir, 'token'), vault.rootToken);
    const secrets = Array.from({ length: N_SECRETS }, (_, i) => `  s${i}: { provider: vault, path: secret/data/s${i} }`).join('\n');
    const config = parseConfigText(
      `providers: { vault: { type: vault, address: "${vault.url}", auth: { method: token, tokenFile: ./token } } }
secrets:
${secrets}
templates: [ { contents: "${Array.from({ length: N_SECRETS }, (_, i) => `S${i}={{s${i}.value}}`).join('\\n')}", destination: all.env } ]
output: { root: ./out }
server: { enabled: false }
refresh: { interval: 10s, jitter: 0 }
init: { concurrency: 16 }
`,
      path.join(dir, 'agent.yaml'),
      dir,
    );
    const s = await sidecarOn(config, clock, []);
    await step(clock, s.idle, INTERVAL);
    const t0 = process.cpuUsage();
    for (let i = 0; i < CYCLES; i++) await step(clock, s.idle, INTERVAL);
    result.vaultUnchangedMsUpperBound = cpuMs(t0) / CYCLES;
    await s.stop();
    await vault.close();
  }
  return result;
}

function noWatch(p: Provider): void {
  (p as { watch?: unknown }).watch = undefined;
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

async function step(clock: ManualClock, idle: () => Promise<void>, ms: number): Promise<void> {
  await clock.advance(ms);
  await idle();
  while ((clock.nextDue() ?? Infinity) <= clock.now()) {
    await clock.advance(0);
    await idle();
  }
}

async function sidecarOn(config: AgentConfig, clock: ManualClock | undefined, notifiers: Notifier[], wrap?: (p: Provider) => void) {
  const templates = await prepareTemplates(config);
  const logger = silentLogger();
  const now = clock ? () => clock.now() : Date.now;
  const invalidations = new InvalidationRelay();
  const providers = await openProviders(config, { logger, baseDir: config.baseDir, now, invalidate: invalidations.invalidate });
  for (const p of providers.values()) wrap?.(p);
  const { store } = await runInit({ config, templates, providers, logger, now });
  const s = await startSidecar({ config, templates, providers, store, logger, invalidations }, { ...(clock ? { clock } : {}), notifiers: () => notifiers, watchSources: false });
  return { idle: () => s.loop.idle(), stop: () => s.stop('bench over') };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function latency(kind: 'exec' | 'http' | 'signal'): Promise<{ p50: number; p99: number; max: number; n: number }> {
  const dir = tempDir();
  const cleanup: Array<() => void | Promise<void>> = [];
  let reload: string;
  if (kind === 'exec') reload = `{ type: exec, command: ["true"] }`;
  else if (kind === 'http') {
    const server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    reload = `{ type: http, url: "http://127.0.0.1:${(server.address() as AddressInfo).port}/reload", retries: 0 }`;
  } else {
    const target = spawn(process.execPath, ['-e', "process.on('SIGHUP',()=>{});setInterval(()=>{},1000)"], { stdio: 'ignore' });
    await sleep(300);
    writeFileSync(path.join(dir, 'target.pid'), String(target.pid));
    cleanup.push(() => stopChild(target));
    reload = `{ type: signal, pidFile: ./target.pid }`;
  }
  // one secret polled every 20 ms: detection is the check that finds the change
  const config = parseConfigText(
    `providers: { local: { type: file, path: ./secrets } }
secrets: { s0: { provider: local } }
templates: [ { contents: "{{s0.value}}", destination: s0.txt } ]
output: { root: ./out }
server: { enabled: false }
refresh: { interval: 20ms, jitter: 0, wait: { min: 0s } }
reload: [ ${reload} ]
`,
    path.join(dir, 'agent.yaml'),
    dir,
  );
  mkdirSync(path.join(dir, 'secrets'));
  writeFileSync(path.join(dir, 'secrets/s0'), 'v-0');
  const { createNotifiers } = await import('../agent/reload/factory.ts');
  const [real] = createNotifiers(config.reload, { erlang: () => { throw new Error('unused'); } } as never);
  let detectedAt = 0;
  let finished: ((at: number) => void) | undefined;
  const timed: Notifier = {
    kind: real!.kind,
    timeoutMs: real!.timeoutMs,
    describe: () => real!.describe(),
    async notify(change, signal) {
      const o = await real!.notify(change, signal);
      finished?.(performance.now());
      return o;
    },
  };
  const s = await sidecarOn(config, undefined, [timed], (p) => {
    const changed = p.changed!.bind(p);
    p.changed = async (...a) => {
      const r = await changed(...a);
      if (r) detectedAt = performance.now();
      return r;
    };
    // the file watcher would also report the change; polling alone keeps "detected" well defined
    (p as { watch?: unknown }).watch = undefined;
  });
  const samples: number[] = [];
  for (let i = 1; i <= SAMPLES; i++) {
    const done = new Promise<number>((r) => (finished = r));
    writeFileSync(path.join(dir, 'secrets/s0'), `v-${i}`);
    const end = await done;
    samples.push(end - detectedAt);
  }
  await s.stop();
  for (const c of cleanup) await c();
  samples.sort((a, b) => a - b);
  const r = (x: number) => Number(x.toFixed(2));
  return { p50: r(percentile(samples, 50)), p99: r(percentile(samples, 99)), max: r(samples.at(-1)!), n: samples.length };
}

const results: Record<string, unknown> = { node: process.version, secrets: N_SECRETS, rssCycles: RSS_CYCLES, date: new Date().toISOString() };
results.cpuPerCycle = await cpuPerCycle();
results.latencyMs = { exec: await latency('exec'), http: await latency('http'), signal: await latency('signal') };
results.rss = await rssFigures();

const cpu = results.cpuPerCycle as Record<string, number>;
const lat = results.latencyMs as Record<string, { p50: number; p99: number; max: number; n: number }>;
const rss = results.rss as Record<string, number | string>;
const rows: Array<[string, string]> = [
  [`CPU per cycle, ${N_SECRETS} file secrets, none changed`, `${cpu.fileUnchangedMs!.toFixed(2)} ms`],
  [`CPU per cycle, ${N_SECRETS} file secrets, all changed (render+write)`, `${cpu.fileAllChangedMs!.toFixed(2)} ms`],
  [`  same, file provider watching (one watcher per directory)`, `${cpu.fileAllChangedWithWatchersMs!.toFixed(2)} ms`],
  [`CPU per cycle, ${N_SECRETS} Vault KV v2 secrets, none changed (incl. fake)`, `${cpu.vaultUnchangedMsUpperBound!.toFixed(2)} ms`],
  ...(['exec', 'http', 'signal'] as const).map((k): [string, string] => [`change -> ${k} notifier done (n=${lat[k]!.n})`, `p50 ${lat[k]!.p50} ms, p99 ${lat[k]!.p99} ms, max ${lat[k]!.max} ms`]),
  ['RSS bare node (setInterval)', `${rss.bareNodeKb} kB`],
  [`RSS floor: node ${rss.imageFlags} with an HTTP server, fs.watch, a read every 100 ms`, `${rss.floorSidecarKb} kB (${rss.floorSidecarRatio}x)`],
  [`RSS floor + chokidar, pino, mustache (mandated libraries)`, `${rss.floorMandatedLibsKb} kB (${rss.floorMandatedLibsRatio}x)`],
  [`RSS floor + those and yaml, zod/mini, prom-client (the agent's choices)`, `${rss.floorChosenLibsKb} kB (${rss.floorChosenLibsRatio}x)`],
  [`RSS run (bundle, plain node), ${N_SECRETS} secrets, after ~${RSS_CYCLES} cycles`, `${rss.bundleKb} kB (${rss.bundleRatio}x; ${rss.bundleStartKb} kB at start)`],
  [`RSS run as the image runs it (${rss.imageFlags}), ${N_SECRETS} secrets`, `${rss.imageKb} kB (${rss.imageRatio}x; ${rss.imageStartKb} kB at start)`],
  [`RSS run as the image runs it, 1 secret`, `${rss.image1Kb} kB (${rss.image1Ratio}x; ${rss.image1StartKb} kB at start)`],
];
const w = Math.max(...rows.map((r) => r[0].length));
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(path.join(ROOT, 'bench/results/sidecar.json'), `${JSON.stringify(results, null, 2)}\n`);
