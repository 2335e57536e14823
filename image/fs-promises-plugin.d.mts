// Types of fs-promises-plugin.mjs, for the TypeScript test that builds with it.
import type { Plugin } from 'esbuild';

export function fsPromisesCallbacks(opts?: { strict?: boolean }): Plugin;
