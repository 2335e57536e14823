// Sources a file in a real shell, the way an entrypoint does
// (`. /run/secrets/erlmcp.sh && exec ...`), and returns the named variables
// exactly: printed NUL-separated, which no shell value can contain.

import { execFileSync } from 'node:child_process';

export type Shell = 'bash' | 'dash';

export function sourceInShell(file: string, names: readonly string[], shell: Shell = 'bash'): Record<string, string> {
  for (const n of names) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) throw new Error(`not a variable name: ${n}`);
  // `.` rather than `source`: dash has only the POSIX spelling
  const script = `set -eu; . "$1"; printf '%s\\0' ${names.map((n) => `"$${n}"`).join(' ')}`;
  const out = execFileSync(shell, ['-c', script, shell, file], {
    encoding: 'buffer',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8' },
    timeout: 60_000,
  });
  const values = out.toString('utf8').split('\0');
  values.pop(); // after the last NUL
  if (values.length !== names.length) throw new Error(`expected ${names.length} values from ${shell}, got ${values.length}`);
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? '']));
}
