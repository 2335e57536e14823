// Bundles a floor (bench/floors/*.ts) into one CommonJS file with the
// program's esbuild options (image/esbuild-options.mjs), so that a floor and
// the agent pay the same for being one bundled file.

import { build } from 'esbuild';
import path from 'node:path';
import { bundleOptions } from '../../image/esbuild-options.mjs';
import { promClientCore } from '../../image/prom-client-core.mjs';

export async function bundleFloor(name: string, outDir: string): Promise<string> {
  const outfile = path.join(outDir, `${name}.cjs`);
  await build({
    ...bundleOptions,
    entryPoints: [path.join(import.meta.dirname, `${name}.ts`)],
    outfile,
    // node-vault without axios and prom-client's core only, as in the program
    plugins: [...(bundleOptions.plugins ?? []), promClientCore],
  });
  return outfile;
}
