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
  call: z.union([z.string(), z.array(z.string()).check(z.minLength(1))]),
  /** compare the call's result, printed as an Erlang term (e.g. "ok") */
  expect: z.optional(z.string()),
  timeout: z._default(durationSchema, 10_000),
  /** skip EPMD and connect to this distribution port */
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
