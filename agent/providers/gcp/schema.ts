// Config-check-time shapes for the `gcp` provider (Google Secret Manager).
// Loaded by the registry at start-up: zod only, never the SDK.

import * as z from 'zod/mini';
import '../../config/zod-setup.ts';

const PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$|^\d{1,20}$/;
const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;
const SECRET_PATH = /^projects\/[^/]+\/secrets\/[A-Za-z0-9_-]{1,255}$/;
const VERSION = /^(latest|[1-9]\d{0,18}|[A-Za-z][A-Za-z0-9_-]{0,62})$/;

export const providerConfigSchema = z
  .strictObject({
    type: z.literal('gcp'),
    /** project id (my-project) or number; secrets are looked up in it unless their name is a full path */
    project: z.string().check(z.regex(PROJECT, 'a GCP project id like "my-project" or a project number')),
    /** host:port of another endpoint (regional endpoint, Private Service Connect, a local emulator) */
    endpoint: z.optional(
      z.string().check(z.regex(/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'host:port, like "secretmanager.europe-west1.rep.googleapis.com:443"')),
    ),
    /** plaintext gRPC without credentials: only for a local emulator */
    insecure: z.optional(z.boolean()),
  })
  .check(z.refine((c) => !c.insecure || c.endpoint !== undefined, { message: 'insecure: true needs an endpoint (it is only for a local emulator)', path: ['insecure'] }));

export const secretSpecSchema = z.strictObject({
  /** secret id in the provider's project, or projects/P/secrets/S */
  name: z.string().check(z.refine((n) => SECRET_ID.test(n) || SECRET_PATH.test(n), 'a secret id like "erlmcp-db" or "projects/P/secrets/S"')),
  /** version number, alias, or "latest" (default) */
  version: z.optional(z.string().check(z.regex(VERSION, 'a version number, an alias, or "latest"'))),
  /** the payload is a JSON object: each member becomes a key */
  json: z.optional(z.boolean()),
  /** utf8 (default): the payload as text; base64: binary payloads (keystores, DER keys) */
  encoding: z.optional(z.enum(['utf8', 'base64'])),
});

export type GcpProviderConfig = z.output<typeof providerConfigSchema>;
export type GcpSecretSpec = z.output<typeof secretSpecSchema>;
