// Builds each cloud provider, with its SDK, as its own CommonJS chunk, and
// the esbuild plugin that makes the main program load them by name. Imports
// from a chunk of the modules listed in agent/providers/shared-modules.ts
// resolve to the main program's instances, never to copies.

import { build } from 'esbuild';
import path from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';

export const CHUNKED_TYPES = ['aws', 'azure', 'gcp'];

/** main build: `import('./aws/provider.ts')` becomes a lazy require('erlmcp-chunk:aws'),
 * which the loader answers (a bare external import() would go to Node's ESM loader) */
export const chunkImports = {
  name: 'provider-chunk-imports',
  setup(b) {
    b.onResolve({ filter: /^\.\/(aws|azure|gcp)\/provider\.ts$/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: args.path.split('/')[1], namespace: 'provider-chunk' } : undefined,
    );
    b.onResolve({ filter: /^erlmcp-chunk:/ }, (args) => ({ path: args.path, external: true }));
    b.onLoad({ filter: /.*/, namespace: 'provider-chunk' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(`erlmcp-chunk:${args.path}`)});`,
      loader: 'js',
    }));
  },
};

function sharedModuleImports(root, type, shared) {
  const own = path.join(root, 'agent/providers', type) + path.sep;
  const agent = path.join(root, 'agent') + path.sep;
  return {
    name: 'provider-chunk-shared',
    setup(b) {
      b.onResolve({ filter: /^\.\.?\// }, (args) => {
        const abs = path.resolve(args.resolveDir, args.path);
        if (!abs.startsWith(agent) || abs.startsWith(own)) return undefined;
        const rel = path.relative(root, abs).split(path.sep).join('/');
        // stateful or class-defining modules come from the main program; any
        // other (pure) module is simply bundled into the chunk as well
        return shared.includes(rel) ? { path: `erlmcp-core:${rel}`, external: true } : undefined;
      });
    },
  };
}

/** -> { aws: base64(brotli(cjs source)), ... } */
export async function buildProviderChunks(root, shared, common) {
  const out = {};
  for (const type of CHUNKED_TYPES) {
    const result = await build({
      ...common,
      entryPoints: [path.join(root, 'agent/providers', type, 'provider.ts')],
      write: false,
      outfile: path.join(root, 'dist', `chunk-${type}.cjs`),
      plugins: [...(common.plugins ?? []), sharedModuleImports(root, type, shared)],
    });
    const source = `(function (exports, require, module, __filename, __dirname) {${result.outputFiles[0].text}\n})`;
    out[type] = brotliCompressSync(Buffer.from(source), { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } }).toString('base64');
  }
  return out;
}
