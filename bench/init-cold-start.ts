// Cold start of `init` from the bundle: process start to exit, 10 secrets in
// the Vault fake on loopback, 5 templates; median of N runs, as a ratio to
// `node -e 0` on the same machine. Figures, not pass/fail.
//
//   npm run build && node bench/init-cold-start.ts [runs]

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startVaultFake } from '../test/fakes/vault/index.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BUNDLE = path.join(ROOT, 'dist/erlmcp-secrets.js');
const RUNS = Number(process.argv[2] ?? 21);

if (!existsSync(BUNDLE)) {
  console.error('run `npm run build` first');
  process.exit(2);
}

const vault = await startVaultFake();
const dir = mkdtempSync(path.join(tmpdir(), 'bench-init-'));
const tokenFile = path.join(dir, 'token');
writeFileSync(tokenFile, vault.rootToken);
const secrets: string[] = [];
for (let i = 0; i < 10; i++) {
  vault.putKv(`secret/erlmcp/s${i}`, { username: `user${i}`, password: `bench-password-${i}-0123456789`, host: `db${i}.local` });
  secrets.push(`  s${i}: { provider: vault, path: secret/data/erlmcp/s${i}, require: { password: { minLength: 16 }, username: {} } }`);
}
const templates = [...Array(5).keys()].map((t) => {
  const lines = [...Array(10).keys()].map((i) => `S${i}_USER={{s${i}.username}}\\nS${i}_PASSWORD={{s${i}.password}}\\n`).join('');
  return `  - { contents: "${lines}", destination: t${t}.env }`;
});
const cfg = path.join(dir, 'agent.yaml');
writeFileSync(
  cfg,
  `providers:\n  vault: { type: vault, address: "${vault.url}", auth: { method: token, tokenFile: ${tokenFile} } }\nsecrets:\n${secrets.join('\n')}\noutput: { root: ${path.join(dir, 'out')} }\ntemplates:\n${templates.join('\n')}\nlog: { level: warn }\n`,
);

function once(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ ms: number; code: number | null }> {
  const start = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH, ...env } });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${args.join(' ')} exited ${code}: ${err}`));
      else resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, code });
    }),
  );
}

async function measure(label: string, args: string[], env?: NodeJS.ProcessEnv): Promise<number> {
  await once(args, env); // warm the OS page cache (and the compile cache, where set)
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push((await once(args, env)).ms);
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  console.log(`${label.padEnd(44)} median ${median.toFixed(1).padStart(6)} ms   p10 ${times[Math.floor(RUNS * 0.1)]!.toFixed(1)}   p90 ${times[Math.floor(RUNS * 0.9)]!.toFixed(1)}`);
  return median;
}

console.log(`node ${process.version}, ${RUNS} runs each, 10 secrets (Vault fake, KV v2, token auth), 5 templates\n`);
const bare = await measure('node -e 0', ['-e', '0']);
const cold = await measure('init (bundle)', [BUNDLE, 'init', '-c', cfg]);
const cacheDir = path.join(dir, 'compile-cache');
const cached = await measure('init (bundle, NODE_COMPILE_CACHE warm)', [BUNDLE, 'init', '-c', cfg], { NODE_COMPILE_CACHE: cacheDir });
const version = await measure('version (bundle, NODE_COMPILE_CACHE warm)', [BUNDLE, 'version'], { NODE_COMPILE_CACHE: cacheDir });
console.log(`\nratio to bare node: init ${(cold / bare).toFixed(2)}x, init with compile cache ${(cached / bare).toFixed(2)}x, version with compile cache ${(version / bare).toFixed(2)}x (target: init <= 2x)`);
console.log(`Vault requests served: ${vault.requests.length}`);
await vault.close();
rmSync(dir, { recursive: true, force: true });
