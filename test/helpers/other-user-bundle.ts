// Runs agent code as another user (uid 65534) wherever the checkout lies.
//
// Tests that need the kernel to refuse a read run node as `nobody`, because
// root reads a mode-000 file anyway. `nobody` must then reach node and the
// code: a checkout under a 0700 directory (mktemp -d, a home directory) stops
// node itself with EACCES before the test's point. So the code is bundled,
// with the program's own esbuild options, into a 0755 folder of its own next
// to a link (or copy) of the node binary.

import { chmodSync, copyFileSync, linkSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { bundleOptions } from '../../image/esbuild-options.mjs';

export interface OtherUserProgram {
  /**
   * The command line that runs the program: `env -u NODE_OPTIONS node program.cjs`.
   * tap's process tracking puts its own loader (inside the checkout) into every
   * child's NODE_OPTIONS, which the other user could not load either.
   */
  command: string[];
}

interface Teardown {
  teardown(fn: () => void): void;
}

/** Bundles `entry` (a .ts file) and links node into a fresh world-readable folder, removed at teardown. */
export async function bundleForOtherUser(t: Teardown, entry: string): Promise<OtherUserProgram> {
  const dir = mkdtempSync(path.join(tmpdir(), 'other-user-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  const node = path.join(dir, 'node');
  try {
    linkSync(process.execPath, node);
  } catch {
    copyFileSync(process.execPath, node);
  }
  chmodSync(node, 0o755);
  const script = path.join(dir, 'program.cjs');
  await build({ ...bundleOptions, entryPoints: [entry], outfile: script, logLevel: 'error' });
  chmodSync(script, 0o644);
  return { command: ['env', '-u', 'NODE_OPTIONS', node, script] };
}
