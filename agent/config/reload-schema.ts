// Reload notifiers run in order after a change batch. One schema per kind;
// the implementations live in agent/reload/.

import { z } from 'zod';
import { durationSchema } from './duration.ts';

const SIGNALS = ['SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGWINCH'] as const;

export const erlangReloadSchema = z.strictObject({
  type: z.literal('erlang'),
  node: z.string().regex(/^[^@\s]+@[^@\s]+$/, 'must be name@host'),
  cookieFile: z.string().optional(),
  /** name of a secret key holding the cookie, e.g. "cookie.value" */
  cookieSecret: z.string().optional(),
  call: z.union([z.string(), z.array(z.string()).min(1)]),
  /** compare the call's result, printed as an Erlang term (e.g. "ok") */
  expect: z.string().optional(),
  timeout: durationSchema.default(10_000),
  /** skip EPMD and connect to this distribution port */
  port: z.int().min(1).max(65535).optional(),
  epmdPort: z.int().min(1).max(65535).optional(),
  tls: z.strictObject({ caFile: z.string(), certFile: z.string(), keyFile: z.string(), serverName: z.string().optional() }).optional(),
});

export const signalReloadSchema = z
  .strictObject({
    type: z.literal('signal'),
    signal: z.enum(SIGNALS).default('SIGHUP'),
    pidFile: z.string().optional(),
    /** find the process by executable name (needs shareProcessNamespace in a pod) */
    processName: z.string().optional(),
    /** the target is a BEAM that installed a handler (os:set_signal/2): required before
     * SIGHUP/SIGUSR2 goes to a BEAM, which otherwise dies or dumps */
    beamHandlerInstalled: z.boolean().optional(),
    timeout: durationSchema.default(5_000),
  })
  .refine((s) => (s.pidFile ? 1 : 0) + (s.processName ? 1 : 0) === 1, 'give exactly one of pidFile or processName');

export const execReloadSchema = z.strictObject({
  type: z.literal('exec'),
  command: z.array(z.string()).min(1),
  timeout: durationSchema.default(30_000),
  env: z.record(z.string(), z.string()).optional(),
});

export const httpReloadSchema = z.strictObject({
  type: z.literal('http'),
  url: z.url({ protocol: /^https?$/ }),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
  headers: z.record(z.string(), z.string()).default({}),
  body: z.string().optional(),
  expectStatus: z.union([z.int(), z.array(z.int())]).default(200),
  retries: z.int().min(0).max(10).default(2),
  timeout: durationSchema.default(10_000),
  caFile: z.string().optional(),
});

export const reloadSchema = z.discriminatedUnion('type', [erlangReloadSchema, signalReloadSchema, execReloadSchema, httpReloadSchema]);
export type ReloadConfig = z.output<typeof reloadSchema>;
