// Bundles the agent into one file, dist/erlmcp-secrets.js, that runs with no
// node_modules beside it.
//
// - CommonJS: an ESM bundle's `import` of a builtin builds an ESM facade of
//   it, and node:http's facade alone loads undici (~30 ms) at start-up;
//   require() does not. google-gax also finds its files through __dirname.
// - The file is a small loader (image/code-cache-loader.cjs) followed by a
//   closing comment that holds the program and each cloud provider with its
//   SDK as a brotli-compressed chunk (image/provider-chunks.mjs). The runtime
//   (image/code-cache-runtime.cjs) compiles the program with a V8 code cache
//   and a chunk only when a provider of that type is configured. A Vault-only
//   init never parses the AWS, Azure or GCP SDKs.
// - Dependencies' parts the agent never runs stay off the start-up path
//   (image/slim-deps.mjs), and so does node:fs/promises, which the agent's
//   own modules get on node:fs's callbacks (agentRedirects below).
//
// `--sea` builds the whole program, chunks inline, from image/sea-entry.ts
// into dist/erlmcp-secrets.cjs: the main script of the single executable
// (image/build-binary.mjs), which has its own code cache or snapshot.
// `--analyze` prints what the main program is made of.

import { build } from 'esbuild';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { slimDeps } from './slim-deps.mjs';
import { bundleOptions } from './esbuild-options.mjs';
import { promClientCore } from './prom-client-core.mjs';
import { agentImportRedirect } from './agent-import-redirect.mjs';
import { createRequire } from 'node:module';
import { buildProviderChunks, chunkImports } from './provider-chunks.mjs';
import { SHARED_MODULES } from '../agent/providers/shared-modules.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const sea = process.argv.includes('--sea');
const outfile = path.join(root, 'dist', sea ? 'erlmcp-secrets.cjs' : 'erlmcp-secrets.js');
mkdirSync(path.dirname(outfile), { recursive: true });

const common = bundleOptions;

const agentRedirects = [
  // node:fs/promises loads eight more builtins that --lite-mode compiles from
  // source at every start: the agent's own imports get the same functions on
  // node:fs callbacks (why and what: image/fs-promises-callbacks.mjs)
  agentImportRedirect({ name: 'fs-promises-callbacks', filter: /^(node:)?fs\/promises$/, to: path.join(root, 'image/fs-promises-callbacks.mjs'), strict: true }),
  // one mustache: its package gives `import` mustache.mjs and `require`
  // mustache.js, the same code built twice, and node-vault requires it, so
  // the bundle held and ran both; the agent (agent/render/parse.ts, with a
  // Writer of its own) gets the CommonJS file node-vault loads
  agentImportRedirect({ name: 'one-mustache', filter: /^mustache$/, to: createRequire(import.meta.url).resolve('mustache'), strict: true }),
];

const result = await build({
  ...common,
  write: sea,
  metafile: true,
  entryPoints: [path.join(root, sea ? 'image/sea-entry.ts' : 'agent/cli/entry.ts')],
  outfile,
  plugins: [slimDeps({ strict: true }), promClientCore, ...agentRedirects, ...(sea ? [] : [chunkImports])],
});

if (!sea) {
  const program = `(function (exports, require, module, __filename, __dirname) {${result.outputFiles[0].text}\n})`;
  const chunks = await buildProviderChunks(root, Object.keys(SHARED_MODULES), common);
  // the hash of everything names the cache files, so a new build never meets an old cache
  const id = createHash('sha256').update(program).update(JSON.stringify(chunks)).digest('hex').slice(0, 16);
  // The program and the chunks (base64) follow the loader in one closing
  // comment; the runtime reads each by its offset from the end of the file.
  if (!/^[\x00-\x7f]*$/.test(program)) throw new Error('build: the program is not ASCII; the loader reads it as latin1 (keep esbuild charset ascii)');
  const marker = '\n/*erlmcp-secrets payload\n';
  const trailer = '*/\n';
  const sentinel = '*\x01/';
  if (program.includes(sentinel)) throw new Error('build: the program contains the loader sentinel; pick another one in image/build.mjs');
  const entries = [['program', program.replaceAll('*/', sentinel)], ...Object.entries(chunks)];
  const payload = entries.map(([, text]) => `${text}\n`).join('');
  // all ASCII, so characters are bytes
  const ends = {};
  let fromEnd = payload.length + trailer.length;
  for (const [name, text] of entries) {
    ends[name] = [fromEnd, text.length];
    fromEnd -= text.length + 1;
  }
  const { program: programAt, ...chunkAt } = ends;
  const layout = { id, sentinel, programStart: program.slice(0, 64), program: programAt, chunks: chunkAt };
  const loader = readFileSync(path.join(root, 'image/code-cache-loader.cjs'), 'utf8')
    .replace('__RUNTIME__', () => JSON.stringify(readFileSync(path.join(root, 'image/code-cache-runtime.cjs'), 'utf8')))
    .replace('__LAYOUT__', () => JSON.stringify(layout));
  writeFileSync(outfile, `${loader}${marker}${payload}${trailer}`, { mode: 0o755 });
}

// The repository's package.json says "type": "module"; this one keeps the
// bundle CommonJS inside dist/. Copied alone elsewhere, a .js file with no
// package.json is CommonJS anyway.
// (Not for --sea: a .cjs needs none, and rewriting it while tests load the
// bundle from dist/ could let one of them read it half-written.)
if (!sea) writeFileSync(path.join(path.dirname(outfile), 'package.json'), '{ "type": "commonjs" }\n');

const size = statSync(outfile).size;
if (process.argv.includes('--analyze')) {
  const { analyzeMetafile } = await import('esbuild');
  process.stdout.write(await analyzeMetafile(result.metafile, { verbose: false }));
}
process.stdout.write(`built ${path.relative(root, outfile)} (${(size / 1024 / 1024).toFixed(2)} MiB) erlmcp-secrets ${pkg.version}\n`);
