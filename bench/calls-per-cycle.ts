// Backend calls per refresh cycle per secret, for each backend, when no
// secret changed and when every secret changed. A cycle does what the
// sidecar's refresh loop does for a static secret (agent/sidecar/
// refresh-loop.ts): provider.changed() when the provider has one, then
// fetch() only if it says changed; without changed(), fetch() and compare.
// Calls are counted where they arrive: the Vault fake, the proxy in front of
// moto, the Azure and GCP fakes. Figures, not pass/fail.
//
// Target: at most one billed read per changed secret, zero when unchanged
// where the backend has a cheaper check.
//
//   node bench/calls-per-cycle.ts [secrets-per-backend]
//
// Prints a table and writes it to bench/results/calls-per-cycle.json.
// Needs moto for AWS (bash test/setup/install.sh).

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startMoto } from '../test/helpers/emulators.ts';
import { BACKEND_TYPES, startFourBackends, type BackendType, type FourBackends } from '../test/helpers/four-backends.ts';
import { PROVIDER_TYPES } from '../agent/providers/registry.ts';
import { silentLogger } from '../agent/log/logger.ts';
import type { Provider, SecretRef, SecretValue } from '../agent/providers/provider.ts';

const N = Number(process.argv[2] ?? 5);

interface Count {
  /** every request the backend saw */
  calls: number;
  /** reads of a secret's value: what the cloud backends bill per call (Vault: data reads) */
  billed: number;
}

/** the backend's own request counters, read before and after a cycle */
function counter(b: FourBackends, type: BackendType): () => Count {
  switch (type) {
    case 'vault':
      return () => ({ calls: b.vault.requests.length, billed: b.vault.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/secret/data/')).length });
    case 'aws':
      return () => ({ calls: [...b.aws.calls.values()].reduce((x, y) => x + y, 0), billed: b.aws.count('GetSecretValue') });
    case 'azure':
      // the bearer challenge is a request too (before the first token only)
      return () => ({ calls: b.azure.operations() + b.azure.challenges(), billed: b.azure.operations() });
    case 'gcp':
      return () => ({ calls: [...b.gcp.calls.values()].reduce((x, y) => x + y, 0), billed: b.gcp.count('AccessSecretVersion') });
  }
}

/** which calls a cycle made, by name, for the table */
function callNames(b: FourBackends, type: BackendType): () => Map<string, number> {
  switch (type) {
    case 'vault':
      return () => {
        const m = new Map<string, number>();
        for (const r of b.vault.requests) {
          const k = `${r.method} ${r.path.replace(/^\/v1\/secret\/(data|metadata)\/.*/, '/v1/secret/$1/*')}`;
          m.set(k, (m.get(k) ?? 0) + 1);
        }
        return m;
      };
    case 'aws':
      return () => new Map(b.aws.calls);
    case 'azure':
      return () => new Map([['GET /secrets/*', b.azure.operations()], ['401 challenge', b.azure.challenges()]]);
    case 'gcp':
      return () => new Map(b.gcp.calls);
  }
}

/** one refresh cycle over every secret, as the refresh loop does it */
async function cycle(provider: Provider, refs: SecretRef[], known: Map<string, SecretValue>): Promise<void> {
  const signal = AbortSignal.timeout(30_000);
  for (const ref of refs) {
    if (provider.changed && !(await provider.changed(ref, known.get(ref.name)!, signal))) continue;
    known.set(ref.name, await provider.fetch(ref, signal));
  }
}

function diff(after: Map<string, number>, before: Map<string, number>): string {
  const parts: string[] = [];
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d) parts.push(`${(d / N).toFixed(2).replace(/\.00$/, '')} ${k}`);
  }
  return parts.join(', ') || 'none';
}

const backendName = (type: BackendType, i: number) => `cycle-${type}-s${i}`;

const moto = await startMoto();
const backends = await startFourBackends(moto);
// the providers run in this process: they read AWS keys and the managed identity endpoint from here
Object.assign(process.env, backends.env);
delete process.env.AWS_PROFILE;
const rows: string[][] = [];
try {
  for (const type of BACKEND_TYPES) {
    const refs: SecretRef[] = [];
    for (let i = 0; i < N; i++) {
      const spec = await backends.put(type, backendName(type, i), { username: `user${i}`, password: `cycle-password-${i}-v1` });
      refs.push({ name: `s${i}`, spec });
    }
    const settings = PROVIDER_TYPES[type]!.configSchema.parse(backends.providerConfig(type));
    const mod = await PROVIDER_TYPES[type]!.load();
    const provider = await mod.create(type, settings, { logger: silentLogger(), baseDir: backends.dir, now: Date.now, invalidate: () => {} });
    try {
      // the init fetch, and the provider's own start-up calls (token lookup, auth challenge)
      const known = new Map<string, SecretValue>();
      for (const ref of refs) known.set(ref.name, await provider.fetch(ref, AbortSignal.timeout(30_000)));

      const count = counter(backends, type);
      const names = callNames(backends, type);
      const measureCycle = async (label: string) => {
        const [c0, n0] = [count(), names()];
        await cycle(provider, refs, known);
        const [c1, n1] = [count(), names()];
        rows.push([type, label, ((c1.calls - c0.calls) / N).toFixed(2), ((c1.billed - c0.billed) / N).toFixed(2), diff(n1, n0)]);
      };
      await measureCycle('unchanged');
      for (let i = 0; i < N; i++) {
        await backends.update(type, backendName(type, i), { username: `user${i}`, password: `cycle-password-${i}-v2` });
      }
      await measureCycle('all changed');
      await measureCycle('unchanged again');
      const stale = refs.filter((r, i) => known.get(r.name)!.data.password !== `cycle-password-${i}-v2`);
      if (stale.length) throw new Error(`${type}: the changed cycle missed ${stale.map((r) => r.name).join(', ')}`);
    } finally {
      await provider.close();
    }
  }
} finally {
  await backends.close();
  await moto.stop();
}

console.log(`calls per secret per refresh cycle (${N} secrets per backend; changed() then fetch() as the refresh loop does)\n`);
const head = ['backend', 'cycle', 'calls', 'billed reads', 'which calls (per secret)'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
for (const r of [head, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
console.log('\nbilled reads: Vault KV v2 data reads, AWS GetSecretValue, Azure GET /secrets (every Key Vault operation), GCP AccessSecretVersion');
const json = path.resolve(import.meta.dirname, 'results/calls-per-cycle.json');
mkdirSync(path.dirname(json), { recursive: true });
writeFileSync(json, `${JSON.stringify({ date: new Date().toISOString(), secretsPerBackend: N, rows: rows.map(([backend, cycle, calls, billed, which]) => ({ backend, cycle, callsPerSecret: Number(calls), billedReadsPerSecret: Number(billed), which })) }, null, 2)}\n`);
