// The shape of agent.yaml. Provider-specific fields are checked afterwards by
// each provider's own schema (agent/providers/<type>/schema.ts), so adding a
// backend never touches this file.
//
// zod/mini, not zod's classic API: classic builds its methods onto every
// schema instance and pulls in zod's JSON-schema code; mini is plain functions
// that the bundler can leave out, which the agent's start-up time and memory
// notice. Global zod settings (English messages, jitless): ./zod-setup.ts.

import * as z from 'zod/mini';
import './zod-setup.ts';
import { durationSchema, durationOrZeroSchema } from './duration.ts';
import { mapKey, requireSchema } from './rules-schema.ts';
import { reloadSchema } from './reload-schema.ts';

export const ESCAPES = ['none', 'dotenv', 'shell', 'json', 'yaml', 'erlang'] as const;
export type Escape = (typeof ESCAPES)[number];

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const nameMessage = 'names start with a letter and use letters, digits, "_" and "-"';
const name = () => z.string().check(z.regex(NAME, nameMessage));

const providerSchema = z.looseObject({ type: z.string() });

const secretSchema = z.looseObject({
  provider: z.string(),
  require: z.optional(requireSchema),
  /** how long a value may be served after the last successful refresh before /readyz says stale */
  ttl: z.optional(durationSchema),
  /** per-secret refresh interval, overriding refresh.interval */
  refresh: z.optional(durationSchema),
  /** rotation-age policy: the backend's current version may be this old before it is reported overdue */
  maxAge: z.optional(durationSchema),
  /** an overdue secret (maxAge) fails init with exit 3 instead of a warning */
  failInit: z.optional(z.boolean()),
});

const fileMode = z.pipe(
  z.union([
    z.string().check(z.regex(/^0?[0-7]{3}$/, 'mode is octal like "0400"')),
    z.int().check(
      // `mode: 440` is the decimal 440 (octal 0670): whoever wrote octal
      // digits meant an octal mode, and guessing either way is a wrong mode
      z.refine((m) => !/^[0-7]{3}$/.test(String(m)), {
        abort: true,
        error: (i) => `${String(i.input)} is ambiguous as a file mode (the decimal number ${String(i.input)} is octal 0${Number(i.input).toString(8)}); write the mode as a quoted octal string like "0400"`,
      }),
      z.gte(0),
      z.lte(0o777),
    ),
  ]),
  z.transform((m: string | number) => (typeof m === 'number' ? m : parseInt(m, 8))),
);

const templateSchema = z
  .strictObject({
    source: z.optional(z.string().check(z.minLength(1))),
    contents: z.optional(z.string()),
    destination: z.string().check(z.minLength(1)),
    mode: z._default(fileMode, 0o400),
    escape: z.optional(z.enum(ESCAPES)),
    uid: z.optional(z.int().check(z.gte(0))),
    gid: z.optional(z.int().check(z.gte(0))),
  })
  .check(z.refine((t) => (t.source === undefined) !== (t.contents === undefined), 'give exactly one of source or contents'));

const backoffSchema = z.strictObject({ initial: durationSchema, max: durationSchema });

export const configSchema = z.strictObject({
  providers: z._default(z.record(name(), providerSchema), {}),
  secrets: z._default(z.record(name(), secretSchema), {}),
  templates: z._default(z.array(templateSchema), []),
  reload: z._default(z.array(reloadSchema), []),
  // /run/secrets: the contract's own example writes /run/secrets/erlmcp.env
  // and /run/secrets/erlang.cookie. The webhook sets its volume's mount path.
  output: z._default(z.strictObject({ root: z._default(z.string(), '/run/secrets') }), { root: '/run/secrets' }),
  refresh: z._default(
    z.strictObject({
      interval: z._default(durationSchema, 300_000),
      jitter: z._default(z.number().check(z.gte(0), z.lte(1)), 0.1),
      /** batch changes: wait `min` of quiet after a change, at most `max` in all */
      wait: z._default(z.strictObject({ min: z._default(durationOrZeroSchema, 0), max: z.optional(durationSchema) }), { min: 0 }),
      backoff: z._default(backoffSchema, { initial: 10_000, max: 300_000 }),
      /** renew leases at this fraction of their TTL (then jittered by 10-20%) */
      leaseRenewFraction: z._default(z.number().check(z.gt(0), z.lt(1)), 2 / 3),
    }),
    { interval: 300_000, jitter: 0.1, wait: { min: 0 }, backoff: { initial: 10_000, max: 300_000 }, leaseRenewFraction: 2 / 3 },
  ),
  init: z._default(
    z.strictObject({
      timeout: z._default(durationSchema, 120_000),
      /** concurrent fetches per provider */
      concurrency: z._default(z.int().check(z.gte(1), z.lte(64)), 4),
      backoff: z._default(backoffSchema, { initial: 250, max: 10_000 }),
    }),
    { timeout: 120_000, concurrency: 4, backoff: { initial: 250, max: 10_000 } },
  ),
  server: z._default(
    z.strictObject({
      listen: z._default(z.string(), '127.0.0.1:9102'),
      enabled: z._default(z.boolean(), true),
      /** allow POST /quit (a Job's sidecar stops when the job is done) */
      quit: z._default(z.boolean(), false),
    }),
    { listen: '127.0.0.1:9102', enabled: true, quit: false },
  ),
  exec: z.optional(
    z.strictObject({
      /** VAR -> Mustache template, e.g. ERLMCP_DB_PASSWORD: "{{db.password}}" */
      env: z._default(z.record(mapKey().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a valid environment variable name')), z.string()), {}),
      onChange: z._default(z.enum(['restart', 'reload', 'none']), 'restart'),
      stopSignal: z._default(z.enum(['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']), 'SIGTERM'),
      grace: z._default(durationOrZeroSchema, 10_000),
    }),
  ),
  /** what `run`/`exec` do on SIGTERM besides finishing the write in flight */
  shutdown: z._default(
    z.strictObject({
      /** give leased (dynamic) credentials back to the backend: the app stops using them with the pod */
      revokeLeases: z._default(z.boolean(), false),
    }),
    { revokeLeases: false },
  ),
  log: z._default(z.strictObject({ level: z._default(z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']), 'info'), format: z.optional(z.enum(['text', 'json'])) }), { level: 'info' }),
});

export type RawConfig = z.output<typeof configSchema>;
