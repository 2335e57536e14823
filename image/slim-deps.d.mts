// Types of slim-deps.mjs, for the TypeScript tests that build with it.
import type { Plugin } from 'esbuild';

export function slimDeps(opts?: { strict?: boolean }): Plugin;
