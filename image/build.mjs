// Bundles the agent into one file, dist/erlmcp-secrets.js, that runs with no
// node_modules beside it. CommonJS on purpose: an ESM bundle's `import` of a
// builtin builds an ESM facade of it, and node:http's facade alone loads
// undici (~30 ms) at start-up; require() does not. google-gax also finds its
// files through __dirname, which CommonJS has.
//
// `--sea` builds the program from image/sea-entry.ts into
// dist/erlmcp-secrets.cjs, the main script of the single executable
// (image/build-binary.mjs); that entry can also serve as a V8 startup
// snapshot entry.

import { build } from 'esbuild';
import { lazyAxiosFetch } from './lazy-axios-fetch.mjs';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const sea = process.argv.includes('--sea');
const outfile = path.join(root, 'dist', sea ? 'erlmcp-secrets.cjs' : 'erlmcp-secrets.js');
mkdirSync(path.dirname(outfile), { recursive: true });

const result = await build({
  entryPoints: [path.join(root, sea ? 'image/sea-entry.ts' : 'agent/cli/entry.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  minifySyntax: true,
  minifyWhitespace: true,
  keepNames: false,
  legalComments: 'none',
  sourcemap: false,
  metafile: true,
  ...(sea ? {} : { banner: { js: '#!/usr/bin/env node' } }),
  define: { 'process.env.ERLMCP_SECRETS_BUNDLED': '"1"' },
  logLevel: 'warning',
  plugins: [lazyAxiosFetch],
});

// The repository's package.json says "type": "module"; this one keeps the
// bundle CommonJS inside dist/. Copied alone elsewhere, a .js file with no
// package.json is CommonJS anyway.
writeFileSync(path.join(path.dirname(outfile), 'package.json'), '{ "type": "commonjs" }\n');

const size = statSync(outfile).size;
if (process.argv.includes('--analyze')) {
  const { analyzeMetafile } = await import('esbuild');
  process.stdout.write(await analyzeMetafile(result.metafile, { verbose: false }));
}
process.stdout.write(`built ${path.relative(root, outfile)} (${(size / 1024 / 1024).toFixed(2)} MiB) erlmcp-secrets ${pkg.version}\n`);
