// sidecar floor with only the libraries the brief mandates (chokidar, pino,
// mustache).
//
//   node sidecar-mandated.cjs <secrets-dir>

import { sidecarLoop } from './sidecar-loop.ts';

sidecarLoop(process.argv[2]!, 100, async () => 'ok\n', () => {});
