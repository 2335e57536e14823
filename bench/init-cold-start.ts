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

interface Case {
  label: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/** Runs the cases interleaved (a, b, c, a, b, c, ...) so that load from
 * elsewhere on the machine hits all of them alike; reports each median and
 * the median of per-round ratios to the first case. */
async function measure(cases: Case[]): Promise<Map<string, { median: number; ratio: number }>> {
  for (const c of cases) await once(c.args, c.env); // warm page cache and code caches
  const times = cases.map(() => [] as number[]);
  for (let i = 0; i < RUNS; i++) {
    for (const [j, c] of cases.entries()) times[j]!.push((await once(c.args, c.env)).ms);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const out = new Map<string, { median: number; ratio: number }>();
  for (const [j, c] of cases.entries()) {
    const ratio = median(times[j]!.map((t, i) => t / times[0]![i]!));
    const sorted = [...times[j]!].sort((a, b) => a - b);
    out.set(c.label, { median: median(times[j]!), ratio });
    console.log(`${c.label.padEnd(48)} median ${median(times[j]!).toFixed(1).padStart(6)} ms  p10 ${sorted[Math.floor(RUNS * 0.1)]!.toFixed(1).padStart(6)}  p90 ${sorted[Math.floor(RUNS * 0.9)]!.toFixed(1).padStart(6)}  ratio ${ratio.toFixed(2)}x`);
  }
  return out;
}

console.log(`node ${process.version}, ${RUNS} interleaved rounds, 10 secrets (Vault fake, KV v2, token auth), 5 templates`);
console.log('ratio = median over rounds of (case / node -e 0 in the same round)\n');
const cacheDir = path.join(dir, 'code-cache');
const results = await measure([
  { label: 'node -e 0', args: ['-e', '0'] },
  { label: 'init (bundle, code cache warm)', args: [BUNDLE, 'init', '-c', cfg], env: { ERLMCP_SECRETS_CODE_CACHE: cacheDir } },
  { label: 'init (bundle, code cache off)', args: [BUNDLE, 'init', '-c', cfg], env: { ERLMCP_SECRETS_CODE_CACHE: 'off' } },
  { label: 'version (bundle, code cache warm)', args: [BUNDLE, 'version'], env: { ERLMCP_SECRETS_CODE_CACHE: cacheDir } },
]);
const warm = results.get('init (bundle, code cache warm)')!;
console.log(`\ninit with a warm code cache: ${warm.ratio.toFixed(2)}x bare node (target: <= 2x)`);
console.log(`Vault requests served: ${vault.requests.length}`);
await vault.close();
rmSync(dir, { recursive: true, force: true });
