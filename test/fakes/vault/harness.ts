// Wiring for vault provider tests: a fake Vault, a scratch directory for
// credential files, a provider context whose logs land in memory (raw pino,
// no scrubbing: the tests prove the provider never logs a value, not that the
// logger hides it), and a record of invalidate() calls.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { Test } from 'tap';
import { assertNoLeak } from '../../helpers/no-leak.ts';
import type { ProviderContext } from '../../../agent/providers/provider.ts';
import { type VaultProvider, create } from '../../../agent/providers/vault/provider.ts';
import { startVaultFake, type VaultFake, type VaultFakeOptions } from './index.ts';

export interface Harness {
  vault: VaultFake;
  dir: string;
  logLines: string[];
  invalidations: Array<{ reason: string; names: string[] | undefined }>;
  ctx: ProviderContext;
  /** writes a file in the scratch dir; returns its name relative to baseDir */
  file(name: string, content: string): string;
  /** a provider on the fake with these settings (address defaults to the fake's) */
  provider(settings: Record<string, unknown>): Promise<VaultProvider>;
  /** a provider logged in with a token that has these policies */
  tokenProvider(policies: string[], extra?: Record<string, unknown>): Promise<VaultProvider>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function vaultHarness(t: Teardown, opts: VaultFakeOptions = {}): Promise<Harness> {
  const vault = await startVaultFake(opts);
  const dir = mkdtempSync(join(tmpdir(), 'vault-provider-'));
  const logLines: string[] = [];
  const logger: Logger = pino({ level: 'debug' }, { write: (line: string) => logLines.push(line) });
  const invalidations: Harness['invalidations'] = [];
  const ctx: ProviderContext = {
    logger,
    baseDir: dir,
    now: () => vault.now(),
    invalidate: (reason, names) => invalidations.push({ reason, names }),
  };
  const providers: VaultProvider[] = [];
  t.teardown(async () => {
    await Promise.all(providers.map((p) => p.close()));
    await vault.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const h: Harness = {
    vault,
    dir,
    logLines,
    invalidations,
    ctx,
    file(name, content) {
      writeFileSync(join(dir, name), content);
      return name;
    },
    async provider(settings) {
      const p = await create('vault', { type: 'vault', address: vault.url, ...settings }, ctx);
      providers.push(p);
      return p;
    },
    async tokenProvider(policies, extra = {}) {
      const token = vault.createToken({ policies, ttl: 86400 });
      return h.provider({ auth: { method: 'token', tokenFile: h.file(`token-${providers.length}`, `${token}\n`) }, ...extra });
    },
  };
  return h;
}

/** no value, nor any 8-character slice of one, in the texts (logs, messages) */
export function assertNoCanaries(t: Test, canaries: string[], texts: string[]): void {
  assertNoLeak(t, texts, canaries);
}

export const signal = (): AbortSignal => new AbortController().signal;
