// An in-process sidecar (startSidecar) against the Vault fake, both on one
// ManualClock: the agent's timers, its idea of "now" and the fake's TTLs all
// move together, so minutes of lease and token life pass in milliseconds.
// Real HTTP still runs in real time, so time moves in steps and each step
// waits for the loop to go idle (requests answered, files written).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { InvalidationRelay } from '../../agent/pipeline/gate.ts';
import { parseConfigText } from '../../agent/config/load.ts';
import { forgetSecretValues } from '../../agent/log/secret-registry.ts';
import { runInit } from '../../agent/pipeline/init.ts';
import { prepareTemplates } from '../../agent/pipeline/prepare-templates.ts';
import { openProviders } from '../../agent/providers/open.ts';
import type { ChangeSet, Notifier } from '../../agent/reload/notifier.ts';
import { ManualClock } from '../../agent/scheduler/manual-clock.ts';
import { startSidecar, type RunningSidecar } from '../../agent/sidecar/run.ts';
import type { SecretStore } from '../../agent/store/store.ts';
import { startVaultFake, type VaultFake } from '../fakes/vault/index.ts';
import { memoryLogger } from './memory-logger.ts';

export const T0 = Date.UTC(2026, 0, 1);
export const ROLE_ID = 'role-id-canary-Rk7Q';
export const SECRET_ID = 'secret-id-canary-Zt3M-9c1d';

export interface VaultSidecar {
  dir: string;
  clock: ManualClock;
  vault: VaultFake;
  sidecar: RunningSidecar;
  store: SecretStore;
  notified: Array<{ change: ChangeSet; at: number }>;
  logs(): string;
  /** move the shared clock in steps, letting real I/O finish after each */
  advance(ms: number, stepMs?: number): Promise<void>;
  metric(series: string): Promise<number | undefined>;
  /** query: e.g. 'fresh' for /readyz?fresh */
  readyz(query?: string): Promise<{ status: number; body: { status: string; stale: Array<{ secret: string; lastError?: string }> } }>;
}

export interface VaultSidecarOptions {
  /** vault address the agent uses (default the fake's URL; a proxy's in fault tests) */
  address?(vault: VaultFake): string | Promise<string>;
  /** the config after `providers:` */
  body: string;
  /** arrange the fake before init */
  arrange(vault: VaultFake): void;
}

export async function vaultSidecar(t: Test, opts: VaultSidecarOptions): Promise<VaultSidecar> {
  const dir = mkdtempSync(join(tmpdir(), 'vault-sidecar-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.teardown(() => forgetSecretValues());
  const clock = new ManualClock(T0);
  const vault = await startVaultFake({ now: () => clock.now() });
  t.teardown(() => vault.close());
  vault.setPolicy('agent', {
    'secret/data/*': ['read'],
    'secret/metadata/*': ['read'],
    'database/creds/*': ['read'],
    'sys/leases/revoke': ['update'],
  });
  opts.arrange(vault);
  writeFileSync(join(dir, 'role-id'), ROLE_ID);
  writeFileSync(join(dir, 'secret-id'), SECRET_ID);
  const address = (await opts.address?.(vault)) ?? vault.url;
  const config = parseConfigText(
    `providers:
  vault: { type: vault, address: "${address}", timeout: 5, auth: { method: approle, roleIdFile: ./role-id, secretIdFile: ./secret-id } }
output: { root: ./out }
server: { listen: "127.0.0.1:0" }
${opts.body}`,
    join(dir, 'agent.yaml'),
    dir,
  );
  const templates = await prepareTemplates(config);
  const { logger, text } = memoryLogger('debug');
  const invalidations = new InvalidationRelay();
  const now = () => clock.now();
  const providers = await openProviders(config, { logger, baseDir: dir, now, invalidate: invalidations.invalidate });
  const { store } = await runInit({ config, templates, providers, logger, now });
  const notified: VaultSidecar['notified'] = [];
  const recorder: Notifier = {
    kind: 'record',
    timeoutMs: 5000,
    describe: () => 'record',
    notify: async (change) => (notified.push({ change, at: clock.now() }), { ok: true, detail: 'recorded', durationMs: 0 }),
  };
  const sidecar = await startSidecar(
    { config, templates, providers, store, logger, invalidations },
    { clock, rand: () => 0.5, notifiers: () => [recorder], watchSources: false },
  );
  t.teardown(() => sidecar.stop('test over'));
  const url = sidecar.server!.url;
  return {
    dir,
    clock,
    vault,
    sidecar,
    store,
    notified,
    logs: text,
    async advance(ms, stepMs = 500) {
      for (let left = ms; left > 0; left -= stepMs) {
        await clock.advance(Math.min(stepMs, left));
        await sidecar.loop.idle();
        // work finished during idle may have set timers for "now" (the batcher's wait)
        while ((clock.nextDue() ?? Infinity) <= clock.now()) {
          await clock.advance(0);
          await sidecar.loop.idle();
        }
      }
    },
    async metric(series) {
      for (const line of (await sidecar.metrics.text()).split('\n')) {
        if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
      }
      return undefined;
    },
    async readyz(query) {
      const r = await fetch(`${url}/readyz${query ? `?${query}` : ''}`);
      return { status: r.status, body: (await r.json()) as { status: string; stale: Array<{ secret: string; lastError?: string }> } };
    },
  };
}
