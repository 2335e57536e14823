// The real CLI (the bundle) against a real OpenBao server: a config file
// for one `vault` provider and the secrets and templates a test names, and
// the init gate run through it.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Test } from 'tap';
import type { AgentError } from '../../agent/errors.ts';
import { rejectionRecorder } from './rejection.ts';
import type { ProviderContext } from '../../agent/providers/provider.ts';
import { type VaultProvider, create } from '../../agent/providers/vault/provider.ts';
import { BUNDLE, runCli, type CliRun } from './cli.ts';

export interface AgentVaultConfig {
  address: string;
  /** the provider's `auth:` as YAML flow text; default: token from ./token */
  auth?: string;
  namespace?: string;
  tls?: string;
  secrets: Record<string, { path: string; version?: number; maxAge?: string; failInit?: boolean }>;
  /** template contents rendered to out/out.txt */
  template: string;
  /** init.timeout; short, so an exit 4 comes quickly */
  initTimeout?: string;
  extra?: string;
}

/** writes <dir>/agent.yaml and returns its path */
export function writeAgentConfig(dir: string, c: AgentVaultConfig): string {
  const secrets = Object.entries(c.secrets)
    .map(([name, s]) => `  ${name}: { provider: vault, path: "${s.path}"${s.version !== undefined ? `, version: ${s.version}` : ''}${s.maxAge !== undefined ? `, maxAge: ${s.maxAge}` : ''}${s.failInit !== undefined ? `, failInit: ${s.failInit}` : ''} }`)
    .join('\n');
  const file = join(dir, 'agent.yaml');
  writeFileSync(
    file,
    `providers:
  vault:
    type: vault
    address: "${c.address}"
    auth: ${c.auth ?? '{ method: token, tokenFile: ./token }'}
${c.namespace !== undefined ? `    namespace: "${c.namespace}"\n` : ''}${c.tls ? `    tls: ${c.tls}\n` : ''}secrets:
${secrets}
templates: [ { contents: ${JSON.stringify(c.template)}, destination: out.txt } ]
output: { root: ./out }
server: { enabled: false }
init: { timeout: ${c.initTimeout ?? '3s'}, backoff: { initial: 100ms, max: 500ms } }
${c.extra ?? ''}`,
  );
  return file;
}

/** `init` through the bundle in dir */
export function runInit(dir: string, cfg: string, extraArgs: string[] = []): Promise<CliRun> {
  return runCli(['init', '-c', cfg, ...extraArgs], { program: BUNDLE, cwd: dir });
}

export interface RealProviderHarness {
  dir: string;
  /** the provider's log lines (raw pino: the provider itself must never log a value) */
  logLines: string[];
  invalidations: Array<{ reason: string; names: string[] | undefined }>;
  /** a provider with these settings (address defaults to the server's), closed on teardown */
  provider(settings: Record<string, unknown>): Promise<VaultProvider>;
  /** a provider logged in with this token (written to a file in dir) */
  tokenProvider(token: string, extra?: Record<string, unknown>): Promise<VaultProvider>;
  file(name: string, content: string): string;
  /** the AgentError a call rejects with; its texts join the leak check's */
  rejected(p: Promise<unknown>): Promise<AgentError>;
  /** every log line and error text so far, for assertNoLeak */
  texts(): string[];
}

/** the vault provider itself, in this process, against a real server */
export function realProviderHarness(t: Test, address: string): RealProviderHarness {
  const dir = mkdtempSync(join(tmpdir(), 'vault-real-provider-'));
  const logLines: string[] = [];
  const invalidations: RealProviderHarness['invalidations'] = [];
  const errorTexts: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logLines.push(line) });
  const ctx: ProviderContext = {
    logger,
    baseDir: dir,
    now: () => Date.now(),
    invalidate: (reason, names) => invalidations.push({ reason, names }),
  };
  const providers: VaultProvider[] = [];
  let files = 0;
  t.teardown(async () => {
    await Promise.all(providers.map((p) => p.close()));
    rmSync(dir, { recursive: true, force: true });
  });
  const h: RealProviderHarness = {
    dir,
    logLines,
    invalidations,
    rejected: rejectionRecorder(logger, errorTexts),
    texts: () => [...logLines, ...errorTexts],
    file(name, content) {
      writeFileSync(join(dir, name), content);
      return name;
    },
    async provider(settings) {
      const p = await create('vault', { type: 'vault', address, ...settings }, ctx);
      providers.push(p);
      return p;
    },
    tokenProvider(token, extra = {}) {
      return h.provider({ auth: { method: 'token', tokenFile: h.file(`token-${files++}`, `${token}\n`) }, ...extra });
    },
  };
  return h;
}

/** a scratch directory for one agent run, holding ./token; removed on teardown */
export function agentDir(t: Test, token: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vault-real-agent-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'token'), token);
  return dir;
}
