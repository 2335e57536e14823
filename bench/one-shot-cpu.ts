// CPU per one-shot run, ours against consul-template `-once`, on the peers
// bench's one-shot data (10 KV v2 secrets, 5 templates, outputs on tmpfs) and
// one real OpenBao 2.7.2 dev server: what bench/README.md's one-shot CPU table
// is made of. Figures, not pass/fail.
//
//   node bench/one-shot-cpu.ts [--rounds 21] [--snapshot] [--compare OTHER.js]
//
// Each run's CPU is the child's user + system time from wait4(2) (all its
// threads, to its exit), taken by a small python3 wrapper because Node does
// not report a child's rusage; wall is spawn to exit. Runs are interleaved in
// a rotating order, the figure is the median. Our runs use the image's node
// flags (image/node-flags.json) and a code cache filled by a first run, as the
// image build does.
//
// --snapshot adds `init` started from a V8 startup snapshot made by this node
// with the image's flags (`node --snapshot-blob B --build-snapshot`): the
// snapshot holds nothing of ours, but its code cache of Node's builtins is
// made under those flags, where --lite-mode makes V8 reject the one built
// into node and compile every builtin the run loads from source.
//
// --compare OTHER.js adds `version` and `init` of another build of the bundle
// (e.g. the previous commit's dist/erlmcp-secrets.js, copied aside), in the
// same rounds.
//
// Needs `bao` 2.7.2 (bash test/setup/install-openbao.sh), consul-template
// 0.41.1 (bash test/setup/install-consul-template.sh), python3, and
// `npm run build`.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { requireBao, startDevBao } from '../test/helpers/openbao.ts';
import { BUNDLE, CONSUL_TEMPLATE, CONSUL_TEMPLATE_INSTALL, IMAGE_FLAGS, consulTemplate, oursImage, oursNoLite, type Launch, type Server } from './peers/agents.ts';
import { KV_MOUNT, oneShotWorkload, secretPath } from './peers/workload.ts';

const args = process.argv.slice(2);
const roundsAt = args.indexOf('--rounds');
const ROUNDS = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 21;
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`--rounds needs a positive whole number, got ${args[roundsAt + 1]}`);
const SNAPSHOT = args.includes('--snapshot');
const compareAt = args.indexOf('--compare');
const COMPARE = compareAt >= 0 ? path.resolve(args[compareAt + 1] ?? '') : undefined;
if (COMPARE !== undefined && !existsSync(COMPARE)) throw new Error(`--compare needs another build of the bundle (a copy of dist/erlmcp-secrets.js), not found: ${COMPARE}`);

// runs argv[1:] and prints "<cpu µs> <wall µs> <exit status>" of that child
const RUSAGE = `
import os, resource, subprocess, sys, time
b = resource.getrusage(resource.RUSAGE_CHILDREN); t = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
w = time.perf_counter() - t; a = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stderr.buffer.write(p.stderr[-4000:])
print(round((a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime) * 1e6), round(w * 1e6), p.returncode)
`;

interface Case {
  label: string;
  launch: Launch;
  /** fresh output directory before each run (init) */
  out?: string;
}

async function measure(c: Case, cwd: string): Promise<{ cpuMs: number; wallMs: number }> {
  if (c.out) {
    rmSync(c.out, { recursive: true, force: true });
    mkdirSync(c.out);
  }
  const child = spawn('python3', ['-c', RUSAGE, c.launch.cmd, ...c.launch.args], { cwd, env: c.launch.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const [cpu, wall, status] = stdout.trim().split(' ').map(Number);
  if (code !== 0 || status !== 0 || !Number.isFinite(cpu) || !Number.isFinite(wall)) throw new Error(`${c.label} failed (exit ${status ?? code}): ${stderr}`);
  return { cpuMs: cpu! / 1000, wallMs: wall! / 1000 };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  if (!existsSync(BUNDLE)) throw new Error('dist/erlmcp-secrets.js is missing: run `npm run build`');
  requireBao();
  if (!existsSync(CONSUL_TEMPLATE)) throw new Error(`consul-template is missing at ${CONSUL_TEMPLATE}: run \`${CONSUL_TEMPLATE_INSTALL}\``);
  execFileSync('python3', ['-c', 'import resource'], { stdio: 'ignore' });

  const cleanups: Array<() => unknown> = [];
  const scope = { teardown: (fn: () => unknown) => cleanups.push(fn) } as unknown as Test;
  const work = mkdtempSync(path.join(os.tmpdir(), 'erlmcp-bench-one-shot-cpu-'));
  const outRoot = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'erlmcp-bench-one-shot-cpu-'));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }), () => rmSync(outRoot, { recursive: true, force: true }));
  try {
    const bao = await startDevBao(scope, { rootToken: 'bench-one-shot-root' });
    const tokenFile = path.join(work, 'token');
    writeFileSync(tokenFile, `${bao.rootToken}\n`, { mode: 0o600 });
    const server: Server = { url: bao.url, tokenFile, token: bao.rootToken, bin: { node: process.execPath, bao: 'bao', consulTemplate: CONSUL_TEMPLATE } };
    const w = oneShotWorkload();
    for (let i = 0; i < w.secrets; i++) await bao.ok('POST', `${KV_MOUNT}/data/${secretPath(i)}`, { data: { value: `bench-${i}-${Math.random().toString(36).slice(2, 10)}` } });

    const dirOf = (name: string) => {
      const d = path.join(work, name);
      mkdirSync(d, { recursive: true });
      return d;
    };
    const outOf = (name: string) => path.join(outRoot, name);
    const ours = oursImage.oneShot(dirOf('ours'), outOf('ours'), w, server);
    const initArgs = ours.args.slice(ours.args.indexOf(BUNDLE) + 1);
    /** the bundle with these node flags and arguments, in ours' environment (its code cache) */
    const bundle = (flags: string[], rest: string[], file = BUNDLE): Launch => ({ cmd: process.execPath, args: [...flags, file, ...rest], env: ours.env });
    const cases: Case[] = [
      { label: 'consul-template `-once`, the whole render', launch: consulTemplate.oneShot(dirOf('ct'), outOf('ct'), w, server), out: outOf('ct') },
      { label: '`node -e 0` with the image\'s flags', launch: { cmd: process.execPath, args: [...IMAGE_FLAGS, '-e', '0'], env: ours.env } },
      { label: '`erlmcp-secrets version` (loads the program from the code cache, does nothing)', launch: bundle(IMAGE_FLAGS, ['version']) },
      { label: '`erlmcp-secrets init`, Vault, code cache warm', launch: ours, out: outOf('ours') },
      { label: 'the same, code cache off', launch: { ...ours, env: { ...ours.env, ERLMCP_SECRETS_CODE_CACHE: 'off' } }, out: outOf('ours') },
      { label: 'the same, without `--lite-mode`', launch: oursNoLite.oneShot(dirOf('ours-nolite'), outOf('ours-nolite'), w, server), out: outOf('ours-nolite') },
    ];
    if (COMPARE !== undefined) {
      const name = path.basename(COMPARE);
      cases.push(
        { label: `\`version\`, ${name}`, launch: bundle(IMAGE_FLAGS, ['version'], COMPARE) },
        { label: `\`init\`, code cache warm, ${name}`, launch: bundle(IMAGE_FLAGS, initArgs, COMPARE), out: outOf('ours') },
      );
    }
    if (SNAPSHOT) {
      const blob = path.join(work, 'builtins.blob');
      const entry = path.join(work, 'snapshot-entry.cjs');
      writeFileSync(entry, '// nothing of ours: the snapshot is made for the code cache of the builtins, under the image flags\n');
      execFileSync(process.execPath, [...IMAGE_FLAGS, '--snapshot-blob', blob, '--build-snapshot', entry], { cwd: work, stdio: 'ignore' });
      const snap = [...IMAGE_FLAGS, '--snapshot-blob', blob];
      cases.push(
        { label: '`node -e 0`, image flags, from the startup snapshot', launch: { cmd: process.execPath, args: [...snap, '-e', '0'], env: ours.env } },
        { label: '`erlmcp-secrets init`, code cache warm, from the startup snapshot', launch: bundle(snap, initArgs), out: outOf('ours') },
      );
    }

    // as the image build does: a first run fills the code cache (and the page cache)
    for (const c of cases) await measure(c, work);
    const cpu = cases.map(() => [] as number[]);
    const wall = cases.map(() => [] as number[]);
    for (let r = 0; r < ROUNDS; r++) {
      for (let k = 0; k < cases.length; k++) {
        const i = (r + k) % cases.length;
        const m = await measure(cases[i]!, work);
        cpu[i]!.push(m.cpuMs);
        wall[i]!.push(m.wallMs);
      }
    }
    console.log(`node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; ${ROUNDS} interleaved rounds, medians\n`);
    console.log('| run | CPU | wall |\n|---|---|---|');
    cases.forEach((c, i) => console.log(`| ${c.label} | ${median(cpu[i]!).toFixed(0)} ms | ${median(wall[i]!).toFixed(0)} ms |`));
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}

await main();
