// `npm start`: runs `erlmcp-secrets init` on examples/local/agent.yaml and
// lists what it wrote: names, sizes and modes, never contents.

import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const config = path.join(here, 'agent.yaml');
const out = path.join(root, 'out/local');

process.stdout.write(`$ erlmcp-secrets init -c ${path.relative(root, config)}\n`);
const r = spawnSync(process.execPath, [path.join(root, 'agent/cli/entry.ts'), 'init', '-c', config], { stdio: ['ignore', 'inherit', 'inherit'] });
if (r.status !== 0) {
  process.stdout.write(`init exited ${r.status}: see the log lines above\n`);
  process.exit(r.status ?? 1);
}
process.stdout.write(`\nrendered into ${path.relative(root, out)}/ (values are not shown; open the files to see them):\n`);
for (const name of readdirSync(out).sort()) {
  const st = statSync(path.join(out, name));
  if (!st.isFile()) continue;
  process.stdout.write(`  ${name.padEnd(16)} ${String(st.size).padStart(5)} bytes  mode 0${(st.mode & 0o777).toString(8)}\n`);
}
process.stdout.write(`\nnext: edit examples/local/dev-secrets/* and run again; break a rule (e.g. a short db password) to see exit 3.\n`);
