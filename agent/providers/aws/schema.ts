// Config-check-time shapes for the `aws` provider (AWS Secrets Manager).
// Loaded by the registry at start-up: zod only, never the SDK.

import * as z from 'zod/mini';
import '../../config/zod-setup.ts';

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

export const providerConfigSchema = z.strictObject({
  type: z.literal('aws'),
  region: z.string().check(z.regex(REGION, 'an AWS region like "us-east-1"')),
  /** a Secrets Manager endpoint other than the regional one (VPC endpoint, FIPS, a local emulator) */
  endpoint: z.optional(z.url({ protocol: /^https?$/, error: 'an http(s) URL like "https://secretsmanager.us-east-1.amazonaws.com"' })),
});

export const secretSpecSchema = z
  .strictObject({
    /** secret name or full ARN */
    id: z.string().check(z.minLength(1, 'the secret name or ARN'), z.maxLength(2048)),
    /** staging label to read; AWSCURRENT unless versionId pins one version */
    versionStage: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
    /** one immutable version (a UUID); never changes, so it is never re-fetched */
    versionId: z.optional(z.string().check(z.minLength(32), z.maxLength(64))),
  })
  .check(z.refine((s) => !(s.versionStage !== undefined && s.versionId !== undefined), 'give versionStage or versionId, not both'));

export type AwsProviderConfig = z.output<typeof providerConfigSchema>;
export type AwsSecretSpec = z.output<typeof secretSpecSchema>;

export const DEFAULT_STAGE = 'AWSCURRENT';
