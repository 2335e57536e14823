// The shape of agent.yaml. Provider-specific fields are checked afterwards by
// each provider's own schema (agent/providers/<type>/schema.ts), so adding a
// backend never touches this file.

import { z } from 'zod';
import { durationSchema } from './duration.ts';
import { requireSchema } from './rules-schema.ts';
import { reloadSchema } from './reload-schema.ts';

// zod's JIT compiles a parser for each object schema with `new Function` on
// first use, which no V8 code cache covers; the agent parses a config once,
// so the interpreted path is faster (measured with a warm code cache: config
// parse 2.9 -> 1.2 ms, `init` from the bundle 3-4 ms faster; see
// bench/init-cold-start.ts). The validation itself is the same.
z.config({ jitless: true });

export const ESCAPES = ['none', 'dotenv', 'shell', 'json', 'yaml', 'erlang'] as const;
export type Escape = (typeof ESCAPES)[number];

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const nameMessage = 'names start with a letter and use letters, digits, "_" and "-"';

const providerSchema = z.looseObject({ type: z.string() });

const secretSchema = z.looseObject({
  provider: z.string(),
  require: requireSchema.optional(),
  /** how long a value may be served after the last successful refresh before /readyz says stale */
  ttl: durationSchema.optional(),
  /** per-secret refresh interval, overriding refresh.interval */
  refresh: durationSchema.optional(),
});

const templateSchema = z
  .strictObject({
    source: z.string().min(1).optional(),
    contents: z.string().optional(),
    destination: z.string().min(1),
    mode: z
      .union([z.string().regex(/^0?[0-7]{3}$/, 'mode is octal like "0400"'), z.int().min(0).max(0o777)])
      .transform((m) => (typeof m === 'number' ? m : parseInt(m, 8)))
      .default(0o400),
    escape: z.enum(ESCAPES).optional(),
    uid: z.int().min(0).optional(),
    gid: z.int().min(0).optional(),
  })
  .refine((t) => (t.source === undefined) !== (t.contents === undefined), 'give exactly one of source or contents');

const backoffSchema = z.strictObject({ initial: durationSchema, max: durationSchema });

export const configSchema = z.strictObject({
  providers: z.record(z.string().regex(NAME, nameMessage), providerSchema).default({}),
  secrets: z.record(z.string().regex(NAME, nameMessage), secretSchema).default({}),
  templates: z.array(templateSchema).default([]),
  reload: z.array(reloadSchema).default([]),
  // /run/secrets: the contract's own example writes /run/secrets/erlmcp.env
  // and /run/secrets/erlang.cookie. The webhook sets its volume's mount path.
  output: z.strictObject({ root: z.string().default('/run/secrets') }).default({ root: '/run/secrets' }),
  refresh: z
    .strictObject({
      interval: durationSchema.default(300_000),
      jitter: z.number().min(0).max(1).default(0.1),
      /** batch changes: wait `min` of quiet after a change, at most `max` in all */
      wait: z.strictObject({ min: durationSchema.default(0), max: durationSchema.optional() }).default({ min: 0 }),
      backoff: backoffSchema.default({ initial: 10_000, max: 300_000 }),
      /** renew leases at this fraction of their TTL (then jittered by 10-20%) */
      leaseRenewFraction: z.number().gt(0).lt(1).default(2 / 3),
    })
    .default({ interval: 300_000, jitter: 0.1, wait: { min: 0 }, backoff: { initial: 10_000, max: 300_000 }, leaseRenewFraction: 2 / 3 }),
  init: z
    .strictObject({
      timeout: durationSchema.default(120_000),
      /** concurrent fetches per provider */
      concurrency: z.int().min(1).max(64).default(4),
      backoff: backoffSchema.default({ initial: 250, max: 10_000 }),
    })
    .default({ timeout: 120_000, concurrency: 4, backoff: { initial: 250, max: 10_000 } }),
  server: z
    .strictObject({
      listen: z.string().default('127.0.0.1:9102'),
      enabled: z.boolean().default(true),
      /** allow POST /quit (a Job's sidecar stops when the job is done) */
      quit: z.boolean().default(false),
    })
    .default({ listen: '127.0.0.1:9102', enabled: true, quit: false }),
  exec: z
    .strictObject({
      /** VAR -> Mustache template, e.g. ERLMCP_DB_PASSWORD: "{{db.password}}" */
      env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a valid environment variable name'), z.string()).default({}),
      onChange: z.enum(['restart', 'reload', 'none']).default('restart'),
      stopSignal: z.enum(['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']).default('SIGTERM'),
      grace: durationSchema.default(10_000),
    })
    .optional(),
  /** what `run`/`exec` do on SIGTERM besides finishing the write in flight */
  shutdown: z
    .strictObject({
      /** give leased (dynamic) credentials back to the backend: the app stops using them with the pod */
      revokeLeases: z.boolean().default(false),
    })
    .default({ revokeLeases: false }),
  log: z.strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') }).default({ level: 'info' }),
});

export type RawConfig = z.output<typeof configSchema>;
