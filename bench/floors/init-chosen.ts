// init floor with the mandated libraries plus the two the agent chose for
// its config: yaml reads it, zod/mini checks it.
//
//   node init-chosen.cjs <floor-config.json>   (JSON is YAML)

import fs from 'node:fs';
import * as z from 'zod/mini';
import YAML from 'yaml';
import { initSteps } from './init-steps.ts';

const schema = z.object({
  vault: z.object({ address: z.string(), tokenFile: z.string() }),
  secrets: z.record(z.string(), z.object({ path: z.string() })),
  templates: z.array(z.object({ contents: z.string(), destination: z.string() })),
  out: z.string(),
});

void initSteps(schema.parse(YAML.parse(fs.readFileSync(process.argv[2]!, 'utf8'))));
