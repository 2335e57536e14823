// sidecar floor with the mandated libraries plus the agent's own choices:
// yaml and zod/mini for the config, prom-client for /metrics.
//
//   node sidecar-chosen.cjs <secrets-dir>

import * as z from 'zod/mini';
import YAML from 'yaml';
import { Counter, Registry } from 'prom-client';
import { sidecarLoop } from './sidecar-loop.ts';

const cfg = z
  .object({ refresh: z.object({ interval: z.number() }), secrets: z.record(z.string(), z.object({ provider: z.string() })) })
  .parse(YAML.parse('refresh: { interval: 100 }\nsecrets: { s0: { provider: local } }'));
const registry = new Registry();
const reads = new Counter({ name: 'reads_total', help: 'reads', registers: [registry] });
sidecarLoop(process.argv[2]!, cfg.refresh.interval, () => registry.metrics(), () => reads.inc());
