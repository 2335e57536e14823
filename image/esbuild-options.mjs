// The esbuild options every bundle of the agent's code shares: the program,
// the provider chunks (image/build.mjs) and the benchmark floors
// (bench/floors/bundle.ts), so that a floor pays what the program pays for
// being one bundled file.

import { slimDeps } from './slim-deps.mjs';

export const bundleOptions = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  minifySyntax: true,
  minifyWhitespace: true,
  keepNames: false,
  legalComments: 'none',
  sourcemap: false,
  define: { 'process.env.ERLMCP_SECRETS_BUNDLED': '"1"' },
  logLevel: 'warning',
  plugins: [slimDeps()],
};
