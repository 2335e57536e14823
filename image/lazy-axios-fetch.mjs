// esbuild plugin: keeps axios from loading Node's internal undici at import.
// Reading globalThis.Request/FormData/fetch makes Node load undici (30-150 ms
// measured on the Vault init path), and axios reads them at module top level
// for its fetch adapter and FormData detection, neither of which node-vault
// uses: it runs on axios's http adapter with plain JSON bodies. Each patch
// below moves such a read to the moment it is needed; behaviour is the same.
// A patch that no longer matches fails the build, so an axios upgrade cannot
// silently lose the start-up win (bench/init-cold-start.ts measures it).

import { readFile } from 'node:fs/promises';

const PATCHES = [
  {
    why: 'seed the fetch adapter on first use, not at import',
    find: '\ngetFetch();\n',
    replace: '\n',
  },
  {
    why: 'look up the FormData global only for objects that could be FormData',
    find: "const FormDataCtor = typeof G.FormData !== 'undefined' ? G.FormData : undefined;\n",
    replace: '',
  },
  {
    why: '(same) plain objects are rejected before FormData is looked up',
    find: "  if (FormDataCtor && thing instanceof FormDataCtor) return true;\n  // Reject plain objects inheriting directly from Object.prototype so prototype-pollution gadgets can't spoof FormData.\n  const proto = getPrototypeOf(thing);\n  if (!proto || proto === Object.prototype) return false;\n",
    replace: "  // Reject plain objects inheriting directly from Object.prototype so prototype-pollution gadgets can't spoof FormData.\n  const proto = getPrototypeOf(thing);\n  if (!proto || proto === Object.prototype) return false;\n  if (typeof G.FormData !== 'undefined' && thing instanceof G.FormData) return true;\n",
  },
];

export const lazyAxiosFetch = {
  name: 'lazy-axios-fetch',
  setup(build) {
    build.onLoad({ filter: /[\\/]axios[\\/]dist[\\/]node[\\/]axios\.cjs$/ }, async (args) => {
      let source = await readFile(args.path, 'utf8');
      for (const p of PATCHES) {
        if (!source.includes(p.find)) {
          return { errors: [{ text: `lazy-axios-fetch: patch "${p.why}" does not match ${args.path}; re-check image/lazy-axios-fetch.mjs against this axios version` }] };
        }
        source = source.replace(p.find, p.replace);
      }
      return { contents: source, loader: 'js' };
    });
  },
};
