// Types of prom-client-core.mjs, for the TypeScript that builds with it.
import type { Plugin } from 'esbuild';

export const promClientCore: Plugin;
