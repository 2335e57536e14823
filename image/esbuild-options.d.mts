// Types of esbuild-options.mjs, for the TypeScript that builds with it.
import type { BuildOptions } from 'esbuild';

export const bundleOptions: BuildOptions;
