// Cold start of `init` from the bundle: process start to exit, 10 secrets, 5
// templates, backends on loopback. Medians of N interleaved rounds and the
// median per-round ratio to `node -e 0` on the same machine (target: init
// <= 2x). Figures, not pass/fail.
//
// Three floors put the figure in context, each the same calls and writes
// with less around them: the I/O alone (node:http, nothing else), the
// libraries the brief mandates (node-vault, pino, mustache: bench/floors/),
// and those plus the agent's own choices for its config (yaml, zod/mini).
// Floors are bundled like the program and run with Node's compile cache.
//
//   Vault-only   10 secrets in the Vault fake (KV v2, token auth)
//   all four     10 secrets spread over Vault, AWS (moto), Azure and GCP (the
//                fakes): every provider chunk and its SDK is loaded
//
//   npm run build && node bench/init-cold-start.ts [rounds]
//
// Prints a table and writes the figures to bench/results/init-cold-start.json.
// Needs moto for AWS (bash test/setup/install.sh).

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startMoto } from '../test/helpers/emulators.ts';
import { BACKEND_TYPES, startFourBackends, type BackendType } from '../test/helpers/four-backends.ts';
import { bundleFloor } from './floors/bundle.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BUNDLE = path.join(ROOT, 'dist/erlmcp-secrets.js');
const ROUNDS = Number(process.argv[2] ?? 21);
const SECRETS = 10;
const TEMPLATES = 5;

if (!existsSync(BUNDLE)) {
  console.error('run `npm run build` first');
  process.exit(2);
}

const moto = await startMoto();
const backends = await startFourBackends(moto);

/** an agent.yaml with SECRETS secrets over `types` (round robin) and TEMPLATES templates using all of them */
async function writeConfig(name: string, types: readonly BackendType[]): Promise<string> {
  const dir = path.join(backends.dir, name);
  mkdirSync(dir);
  const secrets: string[] = [];
  for (let i = 0; i < SECRETS; i++) {
    const type = types[i % types.length]!;
    const spec = await backends.put(type, `bench-${name}-s${i}`, { username: `user${i}`, password: `bench-password-${i}-0123456789`, host: `db${i}.local` });
    // JSON is flow YAML
    secrets.push(`  s${i}: ${JSON.stringify({ provider: type, ...spec, require: { password: { minLength: 16 }, username: {} } })}`);
  }
  const templates = [...Array(TEMPLATES).keys()].map((t) => {
    const lines = [...Array(SECRETS).keys()].map((i) => `S${i}_USER={{s${i}.username}}\\nS${i}_PASSWORD={{s${i}.password}}\\n`).join('');
    return `  - { contents: "${lines}", destination: t${t}.env }`;
  });
  const file = path.join(dir, 'agent.yaml');
  writeFileSync(
    file,
    `providers:\n${backends.providersYaml(types)}\nsecrets:\n${secrets.join('\n')}\noutput: { root: ${path.join(dir, 'out')} }\ntemplates:\n${templates.join('\n')}\nlog: { level: warn }\n`,
  );
  return file;
}

/** the config of the library floors (bench/floors/init-*.ts): the Vault-only
 * secrets and templates of writeConfig('vault-only'), as JSON */
function floorConfig(outDir: string): string {
  const file = path.join(backends.dir, 'floor-config.json');
  const lines = [...Array(SECRETS).keys()].map((i) => `S${i}_USER={{s${i}.username}}\nS${i}_PASSWORD={{s${i}.password}}\n`).join('');
  writeFileSync(
    file,
    JSON.stringify({
      vault: { address: backends.vault.url, tokenFile: path.join(backends.dir, 'vault-token') },
      secrets: Object.fromEntries([...Array(SECRETS).keys()].map((i) => [`s${i}`, { path: `secret/data/bench-vault-only-s${i}` }])),
      templates: [...Array(TEMPLATES).keys()].map((t) => ({ contents: lines, destination: `t${t}.env` })),
      out: outDir,
    }),
  );
  return file;
}

/** The least a Node program can do for this init: read the token, one
 * lookup-self and 10 KV v2 reads over one keep-alive node:http agent, then 5
 * files written with fsync and rename. */
function ioFloorScript(vaultUrl: string, tokenFile: string, outDir: string): string {
  return `'use strict';
const http = require('node:http'); const fs = require('node:fs');
const agent = new http.Agent({ keepAlive: true });
const token = fs.readFileSync(${JSON.stringify(tokenFile)}, 'utf8').trim();
const get = (p) => new Promise((resolve, reject) => http.get(${JSON.stringify(vaultUrl)} + p, { agent, headers: { 'X-Vault-Token': token } }, (r) => {
  let b = ''; r.setEncoding('utf8'); r.on('data', (d) => (b += d)); r.on('end', () => resolve(JSON.parse(b)));
}).on('error', reject));
(async () => {
  await get('/v1/auth/token/lookup-self');
  const all = await Promise.all([...Array(${SECRETS}).keys()].map((i) => get('/v1/secret/data/bench-vault-only-s' + i)));
  fs.mkdirSync(${JSON.stringify(outDir)}, { recursive: true });
  for (let t = 0; t < ${TEMPLATES}; t++) {
    const f = ${JSON.stringify(outDir)} + '/t' + t;
    const fd = fs.openSync(f + '.tmp', 'w', 0o400); fs.writeSync(fd, JSON.stringify(all)); fs.fsyncSync(fd); fs.closeSync(fd); fs.renameSync(f + '.tmp', f);
  }
  agent.destroy();
})();
`;
}

function once(args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  const start = process.hrtime.bigint();
  // async spawn: the fakes answer from this process's event loop
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH, ...backends.env, ...env } });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${args.join(' ')} exited ${code}: ${err}`));
      else resolve(Number(process.hrtime.bigint() - start) / 1e6);
    }),
  );
}

interface Case {
  label: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

interface Figures {
  median: number;
  p10: number;
  p90: number;
  ratio: number;
}

/** Runs the cases interleaved (a, b, c, a, b, c, ...) so that load from
 * elsewhere on the machine hits all of them alike; reports each median and
 * the median of per-round ratios to the first case. */
async function measure(cases: Case[]): Promise<Map<string, Figures>> {
  for (const c of cases) await once(c.args, c.env); // page cache, code caches
  const times = cases.map(() => [] as number[]);
  for (let i = 0; i < ROUNDS; i++) {
    for (const [j, c] of cases.entries()) times[j]!.push(await once(c.args, c.env));
  }
  const at = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;
  const out = new Map<string, Figures>();
  for (const [j, c] of cases.entries()) {
    const f = { median: at(times[j]!, 0.5), p10: at(times[j]!, 0.1), p90: at(times[j]!, 0.9), ratio: at(times[j]!.map((t, i) => t / times[0]![i]!), 0.5) };
    out.set(c.label, f);
    console.log(`${c.label.padEnd(52)} median ${f.median.toFixed(1).padStart(6)} ms  p10 ${f.p10.toFixed(1).padStart(6)}  p90 ${f.p90.toFixed(1).padStart(6)}  ratio ${f.ratio.toFixed(2)}x`);
  }
  return out;
}

try {
  const vaultCfg = await writeConfig('vault-only', ['vault']);
  const allCfg = await writeConfig('all-four', BACKEND_TYPES);
  const cache = path.join(backends.dir, 'code-cache');
  const warm = { ERLMCP_SECRETS_CODE_CACHE: cache };
  const off = { ERLMCP_SECRETS_CODE_CACHE: 'off' };

  console.log(`node ${process.version}, ${ROUNDS} interleaved rounds, ${SECRETS} secrets, ${TEMPLATES} templates, backends on loopback`);
  console.log('ratio = median over rounds of (case / node -e 0 in the same round)\n');
  const flags = (JSON.parse(readFileSync(path.join(ROOT, 'image/node-flags.json'), 'utf8')) as { flags: string[] }).flags;
  const floor = path.join(backends.dir, 'io-floor.cjs');
  writeFileSync(floor, ioFloorScript(backends.vault.url, path.join(backends.dir, 'vault-token'), path.join(backends.dir, 'floor-out')));
  const floorJson = floorConfig(path.join(backends.dir, 'floor-libraries-out'));
  const compileCache = { NODE_COMPILE_CACHE: path.join(backends.dir, 'node-compile-cache') };
  const mandated = await bundleFloor('init-mandated', backends.dir);
  const chosen = await bundleFloor('init-chosen', backends.dir);
  const results = await measure([
    { label: 'node -e 0', args: ['-e', '0'] },
    { label: 'I/O floor: node:http, the same 11 calls, 5 writes', args: [floor] },
    { label: 'floor: + node-vault, pino, mustache (mandated)', args: [mandated, floorJson], env: compileCache },
    { label: 'floor: + yaml, zod/mini (the agent\'s choices)', args: [chosen, floorJson], env: compileCache },
    { label: 'version (code cache warm)', args: [BUNDLE, 'version'], env: warm },
    { label: 'init Vault-only (code cache warm)', args: [BUNDLE, 'init', '-c', vaultCfg], env: warm },
    { label: 'init Vault-only (code cache off)', args: [BUNDLE, 'init', '-c', vaultCfg], env: off },
    { label: `init Vault-only (image flags, cache warm)`, args: [...flags, BUNDLE, 'init', '-c', vaultCfg], env: warm },
    { label: 'init all four backends (code cache warm)', args: [BUNDLE, 'init', '-c', allCfg], env: warm },
    { label: 'init all four backends (code cache off)', args: [BUNDLE, 'init', '-c', allCfg], env: off },
  ]);
  const v = results.get('init Vault-only (code cache warm)')!;
  const f = results.get('I/O floor: node:http, the same 11 calls, 5 writes')!;
  const fm = results.get('floor: + node-vault, pino, mustache (mandated)')!;
  const fc = results.get("floor: + yaml, zod/mini (the agent's choices)")!;
  console.log(`\nthe I/O alone (no config, validation, templates or logging) is ${f.ratio.toFixed(2)}x bare node: the floor under any Node init doing this work`);
  console.log(`with the mandated libraries it is ${fm.ratio.toFixed(2)}x, with the agent's config libraries too ${fc.ratio.toFixed(2)}x; the agent adds ${(v.median - fc.median).toFixed(1)} ms to that`);
  const all = results.get('init all four backends (code cache warm)')!;
  console.log(`Vault-only init, warm code cache: ${v.ratio.toFixed(2)}x bare node (target: <= 2x)`);
  console.log(`all four backends cost ${(all.median - v.median).toFixed(1)} ms more than Vault-only: the AWS, Azure and GCP chunks and SDKs, which a Vault-only init never loads`);
  const json = path.join(ROOT, 'bench/results/init-cold-start.json');
  mkdirSync(path.dirname(json), { recursive: true });
  writeFileSync(json, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, rounds: ROUNDS, secrets: SECRETS, templates: TEMPLATES, ms: Object.fromEntries(results) }, null, 2)}\n`);
} finally {
  await backends.close();
  await moto.stop();
}
