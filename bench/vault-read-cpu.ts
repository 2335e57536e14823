// CPU of one Vault read through the agent's client (VaultHttp.call: the
// transport, the HTTP/1.1 framing, the reply), the call a sidecar check makes
// for every secret every interval: a KV v2 metadata read against a real
// OpenBao dev server, in a loop after a warm-up, CPU from process.cpuUsage()
// in a child process run with the image's node flags and without --lite-mode,
// interleaved. Figures, not pass/fail (bench/README.md, "CPU per check cycle").
//
//   node bench/vault-read-cpu.ts [--calls 2000] [--rounds 5]
//
// Needs `bao` (bash test/setup/install-openbao.sh).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import type { Test } from 'tap';
import { slimDeps } from '../image/slim-deps.mjs';

const ROOT = path.resolve(import.meta.dirname, '..');
const WARM_UP = 200;

/** the child: plain JavaScript, since under --lite-mode Node has no
 * WebAssembly and so cannot strip TypeScript types; CLIENT is the bundled client */
const CHILD = `
const { VaultHttp } = require(process.env.CLIENT);
const [url, token, calls] = process.argv.slice(1);
const v = new VaultHttp({ address: url, namespace: undefined, ca: undefined, serverName: undefined, insecureSkipVerify: false, timeoutMs: 10000 });
const read = async () => {
  const r = await v.call('GET', 'secret/metadata/bench/read', { token });
  if (r.status !== 200) throw new Error('HTTP ' + r.status);
};
(async () => {
  for (let i = 0; i < ${WARM_UP}; i++) await read();
  const before = process.cpuUsage();
  for (let i = 0; i < Number(calls); i++) await read();
  const used = process.cpuUsage(before);
  v.close();
  console.log(JSON.stringify({ usPerCall: (used.user + used.system) / Number(calls) }));
})();
`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: number): number => {
    const i = args.indexOf(`--${name}`);
    const n = i === -1 ? fallback : Number(args[i + 1]);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} needs a positive whole number`);
    return n;
  };
  const calls = opt('calls', 2000);
  const rounds = opt('rounds', 5);
  const { requireBao, startDevBao } = await import('../test/helpers/openbao.ts');
  requireBao();
  const cleanups: Array<() => unknown> = [];
  const scope = { teardown: (fn: () => unknown) => cleanups.push(fn) } as unknown as Test;
  const work = mkdtempSync(path.join(tmpdir(), 'bench-vault-read-'));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  try {
    // bundled as the image bundles the agent (CommonJS, node-vault's axios left out)
    const client = path.join(work, 'client.cjs');
    await build({ entryPoints: [path.join(ROOT, 'agent/providers/vault/client.ts')], outfile: client, bundle: true, platform: 'node', format: 'cjs', logLevel: 'silent', plugins: [slimDeps({ strict: false })] });
    const bao = await startDevBao(scope, { rootToken: 'bench-read-root' });
    await bao.ok('POST', 'secret/data/bench/read', { data: { value: 'x' } });
    const imageFlags = (JSON.parse(readFileSync(path.join(ROOT, 'image/node-flags.json'), 'utf8')) as { flags: string[] }).flags;
    const variants: Array<[string, string[]]> = [
      ['image flags (--lite-mode)', imageFlags],
      ['without --lite-mode', imageFlags.filter((f) => f !== '--lite-mode')],
    ];
    const figures = new Map<string, number[]>(variants.map(([label]) => [label, []]));
    for (let r = 0; r < rounds; r++) {
      for (const [label, flags] of variants) {
        const p = spawnSync(process.execPath, [...flags, '-e', CHILD, bao.url, bao.rootToken, String(calls)], { encoding: 'utf8', env: { ...process.env, CLIENT: client } });
        if (p.status !== 0) throw new Error(`${label}: the child failed: ${p.stderr}`);
        figures.get(label)!.push((JSON.parse(p.stdout) as { usPerCall: number }).usPerCall);
      }
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`CPU per KV v2 metadata read through VaultHttp.call, ${calls} calls after ${WARM_UP}, median of ${rounds} processes\n`);
    console.log('| node flags | CPU per read | each process |\n|---|---|---|');
    for (const [label, xs] of figures) console.log(`| ${label} | ${median(xs).toFixed(0)} µs | ${xs.map((x) => x.toFixed(0)).join(', ')} |`);
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}

await main();
