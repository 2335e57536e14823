// `npm start`: runs `erlmcp-secrets init` on examples/erlmcp/local.yaml (the
// files erlmcp itself reads, from the SAMPLE secrets beside it) and lists
// what it wrote: paths, sizes and modes, never contents.

import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const config = path.join(root, 'examples/erlmcp/local.yaml');
// local.yaml's output root; ERLMCP_SECRETS_OUTPUT_ROOT moves it, as for the program
const out = path.resolve(process.env.ERLMCP_SECRETS_OUTPUT_ROOT ?? path.join(root, 'out/erlmcp'));

/** Every regular file under `dir`, as paths relative to it, sorted. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name), `${prefix}${e.name}/`) : e.isFile() ? [`${prefix}${e.name}`] : []));
}

process.stdout.write(`$ erlmcp-secrets init -c ${path.relative(root, config)}\n`);
const r = spawnSync(process.execPath, [path.join(root, 'agent/cli/entry.ts'), 'init', '-c', config], { stdio: ['ignore', 'inherit', 'inherit'] });
if (r.status !== 0) {
  process.stdout.write(`init exited ${r.status}: see the log lines above\n`);
  process.exit(r.status ?? 1);
}
process.stdout.write(`\nrendered into ${path.relative(root, out) || '.'}/ (values are not shown; open the files to see them):\n`);
for (const name of filesUnder(out)) {
  const st = statSync(path.join(out, name));
  process.stdout.write(`  ${name.padEnd(24)} ${String(st.size).padStart(5)} bytes  mode 0${(st.mode & 0o777).toString(8)}\n`);
}
process.stdout.write(
  '\nwhich erlmcp setting reads each file: docs/erlmcp.md\n' +
    'next: edit examples/erlmcp/sample-secrets/* and run again; break a rule (e.g. a db password under 16 characters) to see exit 3.\n',
);
