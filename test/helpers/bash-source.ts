// Sources a file in a real bash, the way an entrypoint does
// (`source /run/secrets/erlmcp.env && exec ...`), and returns the named
// variables exactly: printed NUL-separated, which no shell value can contain.

import { execFileSync } from 'node:child_process';

export function sourceInBash(file: string, names: readonly string[]): Record<string, string> {
  for (const n of names) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) throw new Error(`not a variable name: ${n}`);
  const script = `set -eu; source "$1"; shift; for n in "$@"; do printf '%s\\0' "\${!n}"; done`;
  const out = execFileSync('bash', ['-c', script, 'bash', file, ...names], {
    encoding: 'buffer',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8' },
    timeout: 60_000,
  });
  const values = out.toString('utf8').split('\0');
  values.pop(); // after the last NUL
  if (values.length !== names.length) throw new Error(`expected ${names.length} values from bash, got ${values.length}`);
  return Object.fromEntries(names.map((n, i) => [n, values[i] ?? '']));
}
