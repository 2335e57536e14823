// erlmcp-secrets side by side with the agents users would run instead, on the
// same data and the same real server, measured in one run, interleaved (each
// round runs every agent once, in a rotating order, so load from elsewhere on
// the machine hits them alike). Figures, not pass/fail.
//
//   one-shot   10 KV v2 secrets, 5 templates, outputs on tmpfs: process start
//              to exit (ours: `init` with the image's node flags and code cache)
//   sidecar    100 secrets, 20 templates, 1 s checks: RSS / USS / anonymous
//              memory (/proc/PID/smaps_rollup) after the window, CPU per
//              check cycle (all threads), requests and value reads per cycle
//              (counted in the server's file audit log), then change to file
//              (a secret written on the server until its new line is in the
//              rendered file), median and p90; each change split, by the
//              audit log, into the wait for the check that saw its version
//              and the time from that check to the file; the median also
//              computed from every check gap and those times (change-model.ts),
//              and the sampled median's bootstrap interval. --change-busy N
//              makes the changes with N busy processes (default none)
//   cgroup     each sidecar runs in a memory cgroup of its own (cgroup.ts):
//              memory.current and memory.stat's anonymous and file parts,
//              read with smaps_rollup; without one the rows say why
//   schedule   after the window, --busy processes spin (default 2: both
//              cores) for --schedule-window s: the gaps between two checks
//              of one secret, from the audit log (p50, p99, max, share over
//              1.5 intervals), as ratios to the interval, median of rounds
//
//   npm run bench:peers [-- --rounds 3 --one-shot-rounds 21 --window 10 --settle 3 --changes 6 --busy 2 --change-busy 0 --schedule-window 20]
//
// Needs `bao` 2.7.2 (bash test/setup/install-openbao.sh) and consul-template
// 0.41.1 (bash test/setup/install-consul-template.sh), and `npm run build`
// (the npm script does it). Prints a markdown table and writes
// bench/results/peers.json.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { requireBao, startDevBao, stopProcess, type Bao } from '../../test/helpers/openbao.ts';
import { AGENTS, BUNDLE, CONSUL_TEMPLATE, CONSUL_TEMPLATE_INSTALL, copyInitCacheForRun, privateBinaries, type AgentKind, type Launch, type Server } from './agents.ts';
import { checkGaps, gapStats, startBurners } from '../check-gaps.ts';
import { AuditLog } from './audit-log.ts';
import { bootstrapMedian } from './change-model.ts';
import { agentCgroup, dropFromPageCache, removeAll, setUpCgroups, type Cgroups } from './cgroup.ts';
import { cpuMs, memory } from './proc-stats.ts';
import { emptyFigures, formatTable, type RoundFigures, type TableContext } from './table.ts';
import { KV_MOUNT, oneShotWorkload, outputFile, outputHeader, outputLine, secretPath, sidecarWorkload, templateOf, type Workload } from './workload.ts';

interface Options {
  rounds: number;
  oneShotRounds: number;
  windowMs: number;
  settleMs: number;
  changes: number;
  busy: number;
  /** busy processes while the changes are made (default none) */
  changeBusy: number;
  scheduleWindowMs: number;
  intervalMs: number;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { rounds: 3, oneShotRounds: 21, windowMs: 10_000, settleMs: 3_000, changes: 6, busy: 2, changeBusy: 0, scheduleWindowMs: 20_000, intervalMs: 1_000 };
  const seconds = new Set(['window', 'settle', 'schedule-window']);
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]!.replace(/^--/, '');
    const n = Number(argv[i + 1]);
    if (!Number.isFinite(n) || n < 0 || (n === 0 && key !== 'busy' && key !== 'change-busy')) throw new Error(`${argv[i]} needs a positive number, got ${argv[i + 1]}`);
    const name = key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const field = seconds.has(key) ? `${name}Ms` : name;
    if (!(field in o) || field === 'intervalMs') throw new Error(`unknown option ${argv[i]} (known: --rounds --one-shot-rounds --window --settle --changes --busy --change-busy --schedule-window)`);
    (o as unknown as Record<string, number>)[field] = seconds.has(key) ? n * 1000 : Math.round(n);
  }
  return o;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the server -------------------------------------------------------------------

const cleanups: Array<() => unknown> = [];
/** test/helpers/openbao.ts ties its server to a tap test's teardown; the bench runs them at its end */
const benchScope = { teardown: (fn: () => unknown) => cleanups.push(fn) } as unknown as Test;

class Secrets {
  private gen = 0;
  readonly values = new Map<number, string>();
  private readonly bao: Bao;
  constructor(bao: Bao) {
    this.bao = bao;
  }
  async put(i: number): Promise<string> {
    const value = `bench-${i}-${++this.gen}-${Math.random().toString(36).slice(2, 10)}`;
    await this.bao.ok('POST', `${KV_MOUNT}/data/${secretPath(i)}`, { data: { value } });
    this.values.set(i, value);
    return value;
  }
}

// ---- processes ----------------------------------------------------------------------

interface Running {
  proc: ChildProcess;
  output(): string;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

function start(l: Launch, cwd: string): Running {
  const proc = spawn(l.cmd, l.args, { cwd, env: l.env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  proc.on('exit', () => live.delete(proc));
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString('utf8')).slice(-8000));
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  return { proc, output: () => out };
}

/** wall time from spawn to exit, in ms; throws on a non-zero exit */
async function timedRun(l: Launch, cwd: string, label: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = start(l, cwd);
  const code = await new Promise<number | null>((res) => r.proc.once('exit', (c) => res(c)));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (code !== 0) throw new Error(`${label} exited ${code}: ${r.output()}`);
  return ms;
}

/** true when every output of w holds the current values */
function outputsCurrent(outDir: string, w: Workload, secrets: Secrets): boolean {
  return w.templates.every((ids, j) => {
    let text: string;
    try {
      text = readFileSync(path.join(outDir, outputFile(j)), 'utf8');
    } catch {
      return false;
    }
    return text === outputHeader(j) + ids.map((i) => outputLine(i, secrets.values.get(i)!)).join('');
  });
}

async function waitFor(what: string, cond: () => boolean, timeoutMs: number, r?: Running, stepMs = 20): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (r && r.proc.exitCode !== null) throw new Error(`exited (${r.proc.exitCode}) before ${what}: ${r.output()}`);
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${r ? `: ${r.output()}` : ''}`);
    await sleep(stepMs);
  }
}

/** a tmpfs directory for outputs, as a pod's emptyDir { medium: Memory } */
function tmpfsDir(): { dir: string; tmpfs: boolean } {
  const TMPFS_MAGIC = 0x01021994;
  for (const base of ['/dev/shm', os.tmpdir()]) {
    try {
      if (statfsSync(base).type === TMPFS_MAGIC) return { dir: mkdtempSync(path.join(base, 'erlmcp-bench-peers-')), tmpfs: true };
    } catch {
      // not there
    }
  }
  return { dir: mkdtempSync(path.join(os.tmpdir(), 'erlmcp-bench-peers-')), tmpfs: false };
}

// ---- measurements -------------------------------------------------------------------

interface Ctx {
  o: Options;
  server: Server;
  secrets: Secrets;
  audit: AuditLog;
  workDir: string;
  outRoot: string;
  /** a memory cgroup per sidecar, when the machine gives one */
  cgroups: Cgroups | undefined;
}

const agentDir = (c: Ctx, a: AgentKind) => path.join(c.workDir, a.id);
function freshOut(c: Ctx, a: AgentKind): string {
  const out = path.join(c.outRoot, a.id);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out);
  return out;
}

async function oneShot(c: Ctx, a: AgentKind, w: Workload): Promise<number> {
  const out = freshOut(c, a);
  const ms = await timedRun(a.oneShot(agentDir(c, a), out, w, c.server), agentDir(c, a), `${a.label} one-shot`);
  if (!outputsCurrent(out, w, c.secrets)) throw new Error(`${a.label} one-shot exited 0 without rendering every file with the current values; files: ${JSON.stringify(readdirSync(out))}`);
  return ms;
}

async function sidecarRound(c: Ctx, a: AgentKind, w: Workload, f: RoundFigures, round: number): Promise<void> {
  const { o } = c;
  const out = freshOut(c, a);
  const launch = a.sidecar(agentDir(c, a), out, w, c.server, o.intervalMs);
  const group = c.cgroups && agentCgroup(c.cgroups, `${a.id}-${round}`);
  // its program's pages are charged to the group only if it is the one that reads them in
  if (group) dropFromPageCache(a.programFiles(agentDir(c, a), c.server));
  const r = start(group ? { ...launch, ...group.wrap(launch.cmd, launch.args) } : launch, agentDir(c, a));
  try {
    await waitFor(`${a.label}: every file rendered`, () => outputsCurrent(out, w, c.secrets), 60_000, r);
    await sleep(o.settleMs);
    const pid = r.proc.pid!;
    const cpu0 = cpuMs(pid);
    const mark = c.audit.mark();
    const t0 = performance.now();
    await sleep(o.windowMs);
    const idleGaps = checkGaps(c.audit.readsSince(mark));
    const cpu1 = cpuMs(pid);
    const elapsed = performance.now() - t0;
    const counted = c.audit.countSince(mark);
    const mem = memory(pid);
    if (r.proc.exitCode !== null) throw new Error(`${a.label} exited during the window: ${r.output()}`);
    const cycles = elapsed / o.intervalMs;
    f.cpuPerCycleMs.push((cpu1 - cpu0) / cycles);
    f.requestsPerCycle.push(counted.requests / cycles);
    f.valueReadsPerCycle.push(counted.valueReads / cycles);
    f.rssMb.push(mem.rssMb);
    f.ussMb.push(mem.ussMb);
    f.anonMb.push(mem.anonMb);
    if (group) {
      const g = group.read();
      f.cgroupMb.push(g.currentMb);
      f.cgroupAnonMb.push(g.anonMb);
      f.cgroupFileMb.push(g.fileMb);
      f.cgroupWorkingSetMb.push(g.workingSetMb);
    }

    // the schedule with every core busy
    const burners = startBurners(o.busy, o.scheduleWindowMs + 5_000);
    let busyGaps: number[];
    try {
      const from = c.audit.mark();
      await sleep(o.scheduleWindowMs);
      if (r.proc.exitCode !== null) throw new Error(`${a.label} exited during the schedule window: ${r.output()}`);
      const gaps = (busyGaps = checkGaps(c.audit.readsSince(from)));
      f.checkGapsMs.push(gaps);
      const g = gapStats(gaps, o.intervalMs);
      process.stderr.write(`  schedule window: load average ${os.loadavg()[0]!.toFixed(1)}, ${g.gaps} gaps, p99 ${g.p99.toFixed(2)}x the interval\n`);
    } finally {
      for (const b of burners) b.kill('SIGKILL');
    }

    const changeBurners = startBurners(o.changeBusy, 20 * o.intervalMs * (o.changes + 1));
    const changesFrom = c.audit.mark();
    try {
      await changes(c, a, w, f, r, out);
      // the schedule the changes met: their own stretch, and the window measured under the same load
      const alike = o.changeBusy === 0 ? idleGaps : o.changeBusy === o.busy ? busyGaps : [];
      f.changeGapsMs.push([...checkGaps(c.audit.readsSince(changesFrom)), ...alike].sort((x, y) => x - y));
    } finally {
      for (const b of changeBurners) b.kill('SIGKILL');
    }
  } finally {
    await stopProcess(r.proc, 'SIGTERM', 5_000);
    group?.remove();
  }
}

/** o.changes changes, each at a random phase, each until its line is in the file */
async function changes(c: Ctx, a: AgentKind, w: Workload, f: RoundFigures, r: Running, out: string): Promise<void> {
  const { o } = c;
  let unsplit = 0;
  for (let n = 0; n < o.changes; n++) {
    // a random phase against the agent's check timers
    await sleep(Math.random() * o.intervalMs);
    const i = Math.floor(Math.random() * w.secrets);
    const file = path.join(out, outputFile(templateOf(w, i)));
    const mark = c.audit.mark();
    const value = await c.secrets.put(i);
    const line = outputLine(i, value);
    const t1 = performance.now();
    await waitFor(`${a.label}: the change of s${i} in ${file}`, () => {
      try {
        return readFileSync(file, 'utf8').includes(line);
      } catch {
        return false; // between an agent's unlink and rename
      }
    }, 20 * o.intervalMs, r, 2);
    const seen = performance.now();
    // the server's audit times are wall-clock: so is this one (the file is polled every 2 ms: ~1 ms of it is the bench's)
    const seenWall = Date.now();
    f.changeToFileMs.push(seen - t1);
    const stages = c.audit.changeStagesSince(mark, secretPath(i));
    if (stages) {
      f.changeWaitMs.push(Math.max(0, stages.checkedAt - stages.writtenAt));
      f.checkToFileMs.push(seenWall - stages.checkedAt);
    } else unsplit++;
  }
  if (unsplit > 0) process.stderr.write(`  ${unsplit} of ${o.changes} changes not split into wait and check-to-file: no read of their version in the audit log\n`);
}

// ---- main ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (!existsSync(BUNDLE)) throw new Error('dist/erlmcp-secrets.js is missing: run `npm run build` (npm run bench:peers does)');
  requireBao();
  if (!existsSync(CONSUL_TEMPLATE)) throw new Error(`consul-template is missing at ${CONSUL_TEMPLATE}: run \`${CONSUL_TEMPLATE_INSTALL}\``);

  const workDir = mkdtempSync(path.join(os.tmpdir(), 'erlmcp-bench-peers-'));
  const { dir: outRoot, tmpfs } = tmpfsDir();
  cleanups.push(() => rmSync(workDir, { recursive: true, force: true }), () => rmSync(outRoot, { recursive: true, force: true }));
  try {
    const auditFile = path.join(workDir, 'audit.log');
    const bao = await startDevBao(benchScope, { rootToken: 'bench-peers-root', config: `audit "file" "bench" {\n  options {\n    file_path = ${JSON.stringify(auditFile)}\n  }\n}\n` });
    const tokenFile = path.join(workDir, 'token');
    writeFileSync(tokenFile, `${bao.rootToken}\n`, { mode: 0o600 });
    const server: Server = { url: bao.url, tokenFile, token: bao.rootToken, bin: privateBinaries(path.join(workDir, 'bin')) };
    const secrets = new Secrets(bao);
    const side = sidecarWorkload();
    for (let i = 0; i < side.secrets; i++) await secrets.put(i);
    const cgroupSetup = setUpCgroups('erlmcp-bench-peers-');
    const cgroups = cgroupSetup.ok ? cgroupSetup.cgroups : undefined;
    if (cgroups) cleanups.push(() => removeAll(cgroups));
    const c: Ctx = { o, server, secrets, audit: new AuditLog(auditFile, KV_MOUNT), workDir, outRoot, cgroups };
    const figures = new Map(AGENTS.map((a) => [a.id, emptyFigures()]));
    for (const a of AGENTS) mkdirSync(agentDir(c, a));

    console.log(`node ${process.version} (ours), ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; outputs on ${tmpfs ? 'tmpfs' : 'the temp dir (no tmpfs found)'}`);
    console.log(`${o.oneShotRounds} one-shot rounds, ${o.rounds} sidecar rounds (${o.windowMs / 1000} s window after ${o.settleMs / 1000} s settling, then ${o.scheduleWindowMs / 1000} s with ${o.busy} busy processes, ${o.changes} changes each), interleaved`);
    console.log(cgroups ? `sidecar memory also from a cgroup per agent: ${cgroups.source} under ${cgroups.root}\n` : `no cgroup memory: ${cgroupSetup.ok ? '' : cgroupSetup.reason}\n`);

    // as the image build does: fill our code caches (init; run starts from init's)
    const once = oneShotWorkload();
    for (const a of AGENTS) {
      for (const l of a.prepare?.(agentDir(c, a), freshOut(c, a), once, server) ?? []) await timedRun(l, agentDir(c, a), `${a.label} warm-up`);
      if (a.prepare) copyInitCacheForRun(agentDir(c, a));
      await oneShot(c, a, once); // page cache
    }
    for (let r = 0; r < o.oneShotRounds; r++) {
      for (let k = 0; k < AGENTS.length; k++) {
        const a = AGENTS[(r + k) % AGENTS.length]!;
        figures.get(a.id)!.oneShotMs.push(await oneShot(c, a, once));
      }
    }
    for (let r = 0; r < o.rounds; r++) {
      for (let k = 0; k < AGENTS.length; k++) {
        const a = AGENTS[(r + k) % AGENTS.length]!;
        process.stderr.write(`sidecar round ${r + 1}/${o.rounds}: ${a.label}\n`);
        await sidecarRound(c, a, side, figures.get(a.id)!, r);
      }
    }

    const table: TableContext = { intervalMs: o.intervalMs, busy: o.busy, changeBusy: o.changeBusy, cgroup: cgroups ? { source: cgroups.source } : { notMeasured: cgroupSetup.ok ? '' : cgroupSetup.reason } };
    console.log(formatTable(AGENTS.map((a) => ({ id: a.id, label: a.label, peer: a.peer, figures: figures.get(a.id)! })), table));
    console.log("\nchange to file, the sampled median's 95 % interval (bootstrap):");
    for (const a of AGENTS) {
      const ms = figures.get(a.id)!.changeToFileMs;
      const { low, high } = bootstrapMedian(ms);
      console.log(`  ${a.label}: ${low.toFixed(0)}-${high.toFixed(0)} ms over ${ms.length} changes`);
    }
    const json = path.resolve(import.meta.dirname, '../results/peers.json');
    mkdirSync(path.dirname(json), { recursive: true });
    writeFileSync(json, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, options: o, tmpfs, cgroup: table.cgroup, figures: Object.fromEntries(figures) }, null, 2)}\n`);
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}

await main();
