// init floor with only the libraries the brief mandates (node-vault, pino,
// mustache): the config is JSON, read with JSON.parse and not checked.
//
//   node init-mandated.cjs <floor-config.json>   (written by the bench)

import fs from 'node:fs';
import { initSteps, type FloorInitConfig } from './init-steps.ts';

void initSteps(JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as FloorInitConfig);
