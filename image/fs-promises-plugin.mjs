// esbuild plugin: the agent's own imports of `node:fs/promises` get
// image/fs-promises-callbacks.mjs (why: there). Only importers under agent/;
// dependencies keep the real module. `strict` (the main program's build)
// fails when nothing was redirected, so a move of the imports cannot
// silently lose the win.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const AGENT = path.join(here, '..', 'agent') + path.sep;
const SHIM = path.join(here, 'fs-promises-callbacks.mjs');

export function fsPromisesCallbacks({ strict = false } = {}) {
  return {
    name: 'fs-promises-callbacks',
    setup(build) {
      let redirected = 0;
      build.onResolve({ filter: /^(node:)?fs\/promises$/ }, (args) => {
        if (!args.importer.startsWith(AGENT)) return undefined;
        redirected++;
        return { path: SHIM };
      });
      build.onEnd((result) => {
        if (strict && result.errors.length === 0 && redirected === 0) {
          result.errors.push({ text: 'fs-promises-callbacks: no import of node:fs/promises under agent/ was redirected; update image/fs-promises-plugin.mjs' });
        }
      });
    },
  };
}
