// Size and cold start of what the image ships: the bundle (a loader that
// compiles the program with a V8 code cache of its own: off, cold, or warmed
// as the default image does) and the single executable (plain, V8 code
// cache, V8 startup snapshot), against bare `node -e 0`. Sizes of the image's
// contents are estimates: published base-image sizes plus our files.
//
//   node bench/size-and-start.mjs [--runs 20] [--json FILE]
//
// Prints a table; writes the figures as JSON to bench/results/ (gitignored).
// Cold start = wall time of one process from spawn to exit, median of --runs
// after 3 warm-up runs (the OS page cache is warm: this is "container start
// on a node that already pulled the image", not the pull). Variants take
// turns run by run, so load from other processes spreads over all of them.

import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    json: { type: 'string', default: path.join(root, 'bench/results/size-and-start.json') },
  },
});
const RUNS = Number(opts.runs);
const NODE = path.join(root, 'node_modules/node/bin/node');

// Published sizes of the candidate base images (linux/amd64), in MB. These
// are estimates from public listings and write-ups, not pulls: this machine
// has no Docker engine. Compressed = what a node downloads; uncompressed =
// what it stores.
const BASES = {
  'gcr.io/distroless/nodejs24-debian12:nonroot': { compressed: 55, uncompressed: 160, note: 'glibc, Node 24, no shell; distroless nodejs22 ~141 MB, nodejs20 ~175 MB uncompressed' },
  'node:24-alpine': { compressed: 55, uncompressed: 160, note: 'musl, Node 24 + npm + yarn + busybox; node:22-alpine ~155 MB uncompressed' },
  'gcr.io/distroless/cc-debian12:nonroot': { compressed: 9, uncompressed: 23, note: 'glibc, libstdc++, libgcc, libssl, CA certs; no Node' },
};

const MB = 1024 * 1024;
const mb = (bytes) => (bytes / MB).toFixed(1);

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

function dirSize(dir) {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) total += statSync(path.join(e.parentPath, e.name)).size;
  return total;
}

function gzipped(file) {
  return gzipSync(readFileSync(file), { level: 6 }).length;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** wall ms of one run, spawn to exit */
function timeOnce(argv, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { cwd: work, env: { PATH: '/usr/bin:/bin', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

/** jobs: [{ argv, env, before }] -> stats per job; jobs take turns run by run */
function measureInterleaved(jobs) {
  const times = jobs.map(() => []);
  for (let i = 0; i < RUNS + 3; i++) {
    jobs.forEach((job, j) => {
      (job.before ?? (() => {}))();
      const ms = timeOnce(job.argv, job.env ?? {});
      if (i >= 3) times[j].push(ms);
    });
  }
  return times.map((ts) => ({ median: median(ts), min: Math.min(...ts), max: Math.max(...ts) }));
}

// --- build what the image ships -------------------------------------------
const work = mkdtempSync(path.join(tmpdir(), 'erlmcp-bench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

process.stderr.write('building the bundle and three single executables...\n');
run(NODE, ['image/build.mjs']);
const bundle = path.join(work, 'erlmcp-secrets.js');
cpSync(path.join(root, 'dist/erlmcp-secrets.js'), bundle);
const binaries = {};
for (const mode of ['plain', 'code-cache', 'snapshot']) {
  binaries[mode] = path.join(work, `erlmcp-secrets-${mode}`);
  run(NODE, ['image/build-binary.mjs', '--mode', mode, '--out', binaries[mode]]);
}
const strippedNode = path.join(work, 'node-stripped');
cpSync(NODE, strippedNode);
spawnSync('strip', ['--strip-all', strippedNode]);

// the local example's layout, rendered into a scratch dir
const etc = path.join(work, 'etc');
mkdirSync(etc);
cpSync(path.join(root, 'examples/local/dev-secrets'), path.join(etc, 'dev-secrets'), { recursive: true });
cpSync(path.join(root, 'templates'), path.join(etc, 'templates'), { recursive: true });
const config = path.join(etc, 'agent.yaml');
writeFileSync(
  config,
  readFileSync(path.join(root, 'examples/local/agent.yaml'), 'utf8')
    .replaceAll('../../templates/', 'templates/')
    .replace(/output: \{ root: [^}]+\}/, `output: { root: ${path.join(work, 'out')} }`),
);

// the image's code cache: warmed with version, check and init, as the Dockerfile does
const cache = path.join(work, 'code-cache');
for (const argv of [['version'], ['check', '-c', config], ['init', '-c', config]]) run(NODE, [bundle, ...argv], { ERLMCP_SECRETS_CODE_CACHE: cache });
const coldCache = path.join(work, 'cold-cache');

// --- sizes --------------------------------------------------------------------
const sizes = {
  bundle: { bytes: statSync(bundle).size, gzip: gzipped(bundle) },
  codeCache: { bytes: dirSize(cache), gzip: null },
  nodeStripped: { bytes: statSync(strippedNode).size, gzip: gzipped(strippedNode) },
};
for (const [mode, file] of Object.entries(binaries)) sizes[`binary (${mode})`] = { bytes: statSync(file).size, gzip: gzipped(file) };

const ours = {
  bundleImage: sizes.bundle.bytes + sizes.codeCache.bytes,
  bundleImageGz: sizes.bundle.gzip + gzipSync(Buffer.concat(readdirSync(cache, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => readFileSync(path.join(e.parentPath, e.name))))).length,
  binaryImage: sizes['binary (snapshot)'].bytes,
  binaryImageGz: sizes['binary (snapshot)'].gzip,
};
const images = [
  { image: 'runtime (default): distroless/nodejs24 + bundle + code cache', base: 'gcr.io/distroless/nodejs24-debian12:nonroot', add: ours.bundleImage, addGz: ours.bundleImageGz },
  { image: 'alpine: node:24-alpine + bundle + code cache', base: 'node:24-alpine', add: ours.bundleImage, addGz: ours.bundleImageGz },
  { image: 'runtime-binary: distroless/cc + single executable', base: 'gcr.io/distroless/cc-debian12:nonroot', add: ours.binaryImage, addGz: ours.binaryImageGz },
].map((i) => ({ ...i, compressedMB: BASES[i.base].compressed + i.addGz / MB, uncompressedMB: BASES[i.base].uncompressed + i.add / MB }));

// --- cold start ---------------------------------------------------------------
process.stderr.write(`timing (median of ${RUNS} after 3 warm-ups)...\n`);
const commands = {
  version: ['version'],
  check: ['check', '-c', config],
  'init (file)': ['init', '-c', config],
};
const variants = [
  { name: 'node -e 0 (floor)', argv: () => [NODE, '-e', '0'], only: 'version' },
  { name: 'bundle, code cache off', argv: (c) => [NODE, bundle, ...c], env: { ERLMCP_SECRETS_CODE_CACHE: 'off' } },
  { name: 'bundle, code cache cold (empty dir)', argv: (c) => [NODE, bundle, ...c], env: { ERLMCP_SECRETS_CODE_CACHE: coldCache }, before: () => rmSync(coldCache, { recursive: true, force: true }) },
  { name: 'bundle, code cache warm (as in image)', argv: (c) => [NODE, bundle, ...c], env: { ERLMCP_SECRETS_CODE_CACHE: cache } },
  { name: 'binary (plain)', argv: (c) => [binaries.plain, ...c] },
  { name: 'binary (code cache)', argv: (c) => [binaries['code-cache'], ...c] },
  { name: 'binary (snapshot)', argv: (c) => [binaries.snapshot, ...c] },
];
const jobs = [];
for (const v of variants) {
  for (const [cmd, argv] of Object.entries(commands)) {
    if (v.only && v.only !== cmd) continue;
    jobs.push({ variant: v.name, cmd, argv: v.argv(argv), env: v.env, before: v.before });
  }
}
const stats = measureInterleaved(jobs);
const timings = variants.map((v) => {
  const row = { variant: v.name };
  jobs.forEach((job, j) => {
    if (job.variant === v.name) row[job.cmd] = stats[j];
  });
  return row;
});

// --- report -------------------------------------------------------------------
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
const out = [];
out.push(`erlmcp-secrets size and cold start (${new Date().toISOString()}, node ${run(NODE, ['--version']).trim()}, ${RUNS} runs)`);
out.push('');
out.push(`${pad('file', 28)}${lpad('MiB', 9)}${lpad('gzip MiB', 10)}`);
for (const [k, v] of Object.entries(sizes)) out.push(`${pad(k, 28)}${lpad(mb(v.bytes), 9)}${lpad(v.gzip === null ? '-' : mb(v.gzip), 10)}`);
out.push('');
out.push('image estimates (base: published size, an estimate; + our files, measured)');
out.push(`${pad('image', 60)}${lpad('compressed MB', 15)}${lpad('on disk MB', 12)}`);
for (const i of images) out.push(`${pad(i.image, 60)}${lpad(`~${i.compressedMB.toFixed(0)}`, 15)}${lpad(`~${i.uncompressedMB.toFixed(0)}`, 12)}`);
out.push('');
out.push(`cold start, ms: median (min-max) of ${RUNS}`);
const cols = Object.keys(commands);
out.push(`${pad('variant', 44)}${cols.map((c) => lpad(c, 22)).join('')}`);
for (const row of timings) {
  out.push(`${pad(row.variant, 44)}${cols.map((c) => lpad(row[c] ? `${row[c].median.toFixed(0)} (${row[c].min.toFixed(0)}-${row[c].max.toFixed(0)})` : '', 22)).join('')}`);
}
process.stdout.write(`${out.join('\n')}\n`);

mkdirSync(path.dirname(opts.json), { recursive: true });
writeFileSync(opts.json, JSON.stringify({ date: new Date().toISOString(), runs: RUNS, bases: BASES, sizes, images, timings }, null, 2));
process.stderr.write(`figures written to ${path.relative(root, opts.json)}\n`);
