// Reload notifiers run in order after a change batch. One schema per kind;
// the implementations live in agent/reload/.

import * as z from 'zod/mini';
import './zod-setup.ts';
import { durationSchema } from './duration.ts';
import { mapKey } from './rules-schema.ts';

const SIGNALS = ['SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGWINCH'] as const;

const port = () => z.int().check(z.gte(1), z.lte(65535));

export const erlangReloadSchema = z.strictObject({
  type: z.literal('erlang'),
  node: z.string().check(z.regex(/^[^@\s]+@[^@\s]+$/, 'must be name@host')),
  cookieFile: z.optional(z.string()),
  /** name of a secret key holding the cookie, e.g. "cookie.value" */
  cookieSecret: z.optional(z.string()),
  /** calls to make instead of the built-in reload (erlmcp_secrets_reload, loaded by the agent) */
  call: z.optional(z.union([z.string(), z.array(z.string()).check(z.minLength(1))])),
  /** the built-in reload, used when `call` is absent */
  apply: z.optional(
    z.strictObject({
      /** rendered sys.config files as the node sees them; application:set_env for each {App, [{K, V}]} */
      configFiles: z._default(z.array(z.string()), []),
      /** rendered dotenv files as the node sees them; os:putenv/2 for each variable */
      envFiles: z._default(z.array(z.string()), []),
      /** ssl:clear_pem_cache(), so rewritten certificate files are read again */
      clearPemCache: z._default(z.boolean(), true),
      /** module:function called on the node after applying, with #{changed, files} */
      hook: z.optional(z.string().check(z.regex(/^[a-z][A-Za-z0-9_@]*:[a-z][A-Za-z0-9_@]*$/, 'must be module:function with lowercase atoms, e.g. erlmcp_app:secrets_reloaded'))),
      /** the compiled erlmcp_secrets_reload.beam; default $ERLMCP_SECRETS_RELOAD_BEAM or the image's copy */
      beamFile: z.optional(z.string()),
    }),
  ),
  /** when the cookie changes: set it on the node (node), on it and every node it is connected to (cluster), or leave the node alone (off) */
  cookieRotation: z._default(z.enum(['off', 'node', 'cluster']), 'node'),
  /** compare the call's result, printed as an Erlang term (e.g. "ok") */
  expect: z.optional(z.string()),
  timeout: z._default(durationSchema, 10_000),
  /** skip EPMD and connect to this distribution port (default: $ERL_DIST_PORT when set) */
  port: z.optional(port()),
  epmdPort: z.optional(port()),
  tls: z.optional(z.strictObject({ caFile: z.string(), certFile: z.string(), keyFile: z.string(), serverName: z.optional(z.string()) })),
});

export const signalReloadSchema = z
  .strictObject({
    type: z.literal('signal'),
    signal: z._default(z.enum(SIGNALS), 'SIGHUP'),
    pidFile: z.optional(z.string()),
    /** find the process by executable name (needs shareProcessNamespace in a pod) */
    processName: z.optional(z.string()),
    /** the target is a BEAM that installed a handler (os:set_signal/2): required before
     * SIGHUP/SIGUSR2 goes to a BEAM, which otherwise dies or dumps */
    beamHandlerInstalled: z.optional(z.boolean()),
    timeout: z._default(durationSchema, 5_000),
  })
  .check(z.refine((s) => (s.pidFile ? 1 : 0) + (s.processName ? 1 : 0) === 1, 'give exactly one of pidFile or processName'));

export const execReloadSchema = z.strictObject({
  type: z.literal('exec'),
  command: z.array(z.string()).check(z.minLength(1)),
  timeout: z._default(durationSchema, 30_000),
  env: z.optional(z.record(mapKey(), z.string())),
});

export const httpReloadSchema = z.strictObject({
  type: z.literal('http'),
  url: z.url({ protocol: /^https?$/ }),
  method: z._default(z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']), 'POST'),
  headers: z._default(z.record(mapKey(), z.string()), {}),
  body: z.optional(z.string()),
  expectStatus: z._default(z.union([z.int(), z.array(z.int())]), 200),
  retries: z._default(z.int().check(z.gte(0), z.lte(10)), 2),
  timeout: z._default(durationSchema, 10_000),
  caFile: z.optional(z.string()),
});

export const reloadSchema = z.discriminatedUnion('type', [erlangReloadSchema, signalReloadSchema, execReloadSchema, httpReloadSchema]);
export type ReloadConfig = z.output<typeof reloadSchema>;
