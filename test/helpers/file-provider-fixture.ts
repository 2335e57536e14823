// A temp directory to build secrets layouts in, a file provider over it, and
// a log sink to check for leaks.

import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Test } from 'tap';
import { createLogger } from '../../agent/log/logger.ts';
import { create, type FileProvider } from '../../agent/providers/file/provider.ts';
import type { SecretRef, SecretValue } from '../../agent/providers/provider.ts';

export interface Fixture {
  dir: string;
  logs: string[];
  write(rel: string, content: string | Buffer): string;
  provider(path: string): Promise<FileProvider>;
}

export function fixture(t: Test): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'erlmcp-file-provider-'));
  chmodSync(dir, 0o755); // the EACCES test reads it as another user
  const logs: string[] = [];
  const providers: FileProvider[] = [];
  t.teardown(async () => {
    await Promise.all(providers.map((p) => p.close()));
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    logs,
    write(rel, content) {
      const abs = join(dir, rel);
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, content);
      return abs;
    },
    async provider(path) {
      const logger = createLogger({ level: 'trace', destination: { write: (line: string) => logs.push(line) } });
      const p = await create('local', { type: 'file', path }, { logger, baseDir: dir, now: () => Date.now() });
      providers.push(p);
      return p;
    },
  };
}

export function fetchSecret(p: FileProvider, name: string, spec: Record<string, unknown> = {}): Promise<SecretValue> {
  return p.fetch({ name, spec }, new AbortController().signal);
}

export function ref(name: string, spec: Record<string, unknown> = {}): SecretRef {
  return { name, spec };
}

/** kubelet's layout of a mounted Secret at dir: ..<ts>/ with the files, ..data -> ..<ts>, key -> ..data/key */
export function kubeletSecret(dir: string, stamp: string, data: Record<string, string>): void {
  const real = join(dir, `..${stamp}`);
  mkdirSync(real, { recursive: true });
  for (const [k, v] of Object.entries(data)) writeFileSync(join(real, k), v);
  symlinkSync(`..${stamp}`, join(dir, '..data'));
  for (const k of Object.keys(data)) symlinkSync(join('..data', k), join(dir, k));
}
