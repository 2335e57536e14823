// A test that needs a tool this machine lacks fails, naming the command that
// installs it (test/setup/install.sh installs all of them); it never skips
// quietly, or a green run would hide that half a file never ran.

import { spawnSync } from 'node:child_process';
import type { Test } from 'tap';

export const INSTALL_ALL = 'bash test/setup/install.sh';

/** undefined when `cmd args` runs and exits 0 (or at all, for a tool like
 * erlc that has no argument that exits 0); otherwise why not and how to install it */
export function missingTool(cmd: string, args: string[], install: string, anyExit = false): string | undefined {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  if (r.error === undefined && (anyExit || r.status === 0)) return undefined;
  return `${cmd} is not installed: run \`${install}\` (or \`${INSTALL_ALL}\` for everything the tests need)`;
}

/** fails the test file once for a missing tool; returns the reason to skip its subtests with */
export function requireTool(t: Test, cmd: string, args: string[], install: string, anyExit = false): string | false {
  const missing = missingTool(cmd, args, install, anyExit);
  if (missing === undefined) return false;
  t.fail(missing);
  return missing;
}
