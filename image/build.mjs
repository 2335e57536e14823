// Bundles the agent into one file, dist/erlmcp-secrets.js, that runs with no
// node_modules beside it. ESM with require/__dirname defined, because some
// SDKs (google-gax) locate files through them.
//
// `--sea` builds the same program as CommonJS into dist/erlmcp-secrets.cjs,
// the main script of the single executable (image/build-binary.mjs): Node 24
// runs a SEA's main only as CommonJS. Its entry, image/sea-entry.ts, can also
// serve as a V8 startup snapshot entry.

import { build } from 'esbuild';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const sea = process.argv.includes('--sea');
const outfile = path.join(root, 'dist', sea ? 'erlmcp-secrets.cjs' : 'erlmcp-secrets.js');
mkdirSync(path.dirname(outfile), { recursive: true });

const esmBanner = [
  '#!/usr/bin/env node',
  "import { createRequire as __erlmcpCreateRequire } from 'node:module';",
  "import { fileURLToPath as __erlmcpFileURLToPath } from 'node:url';",
  "import { dirname as __erlmcpDirname } from 'node:path';",
  'const require = __erlmcpCreateRequire(import.meta.url);',
  'const __filename = __erlmcpFileURLToPath(import.meta.url);',
  'const __dirname = __erlmcpDirname(__filename);',
].join('\n');

const result = await build({
  entryPoints: [path.join(root, sea ? 'image/sea-entry.ts' : 'agent/cli/entry.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: sea ? 'cjs' : 'esm',
  minifySyntax: true,
  minifyWhitespace: true,
  keepNames: false,
  legalComments: 'none',
  sourcemap: false,
  metafile: true,
  ...(sea ? {} : { banner: { js: esmBanner } }),
  define: { 'process.env.ERLMCP_SECRETS_BUNDLED': '"1"' },
  logLevel: 'warning',
});

const size = statSync(outfile).size;
if (process.argv.includes('--analyze')) {
  const { analyzeMetafile } = await import('esbuild');
  process.stdout.write(await analyzeMetafile(result.metafile, { verbose: false }));
}
process.stdout.write(`built ${path.relative(root, outfile)} (${(size / 1024 / 1024).toFixed(2)} MiB) erlmcp-secrets ${pkg.version}\n`);
