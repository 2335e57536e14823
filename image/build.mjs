// Bundles the agent into one file, dist/erlmcp-secrets.js, that runs with no
// node_modules beside it. ESM with require/__dirname defined, because some
// SDKs (google-gax) locate files through them.

import { build } from 'esbuild';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const outfile = path.join(root, 'dist', 'erlmcp-secrets.js');
mkdirSync(path.dirname(outfile), { recursive: true });

const banner = [
  '#!/usr/bin/env node',
  "import { createRequire as __erlmcpCreateRequire } from 'node:module';",
  "import { fileURLToPath as __erlmcpFileURLToPath } from 'node:url';",
  "import { dirname as __erlmcpDirname } from 'node:path';",
  'const require = __erlmcpCreateRequire(import.meta.url);',
  'const __filename = __erlmcpFileURLToPath(import.meta.url);',
  'const __dirname = __erlmcpDirname(__filename);',
].join('\n');

const result = await build({
  entryPoints: [path.join(root, 'agent/cli/entry.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  minifySyntax: true,
  minifyWhitespace: true,
  keepNames: false,
  legalComments: 'none',
  sourcemap: false,
  metafile: true,
  banner: { js: banner },
  define: { 'process.env.ERLMCP_SECRETS_BUNDLED': '"1"' },
  logLevel: 'warning',
});

const size = statSync(outfile).size;
if (process.argv.includes('--analyze')) {
  const { analyzeMetafile } = await import('esbuild');
  process.stdout.write(await analyzeMetafile(result.metafile, { verbose: false }));
}
process.stdout.write(`built ${path.relative(root, outfile)} (${(size / 1024 / 1024).toFixed(2)} MiB) erlmcp-secrets ${pkg.version}\n`);
