// esbuild plugin: the agent's own imports of a module (importers under
// agent/) resolve to another file; dependencies keep the original. The main
// program's build uses it for node:fs/promises and mustache (image/build.mjs
// says why for each). `strict` fails the build when nothing was redirected,
// so a move of the imports cannot silently lose the win.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

const AGENT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'agent') + path.sep;

/** @param {{ name: string, filter: RegExp, to: string, strict?: boolean }} opts */
export function agentImportRedirect({ name, filter, to, strict = false }) {
  return {
    name,
    setup(build) {
      let redirected = 0;
      build.onResolve({ filter }, (args) => {
        if (!args.importer.startsWith(AGENT)) return undefined;
        redirected++;
        return { path: to };
      });
      build.onEnd((result) => {
        if (strict && result.errors.length === 0 && redirected === 0) {
          result.errors.push({ text: `${name}: no import under agent/ matched ${filter}; update image/build.mjs` });
        }
      });
    },
  };
}
