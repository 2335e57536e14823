// Config-check-time shapes for the `aws` provider (AWS Secrets Manager).
// Loaded by the registry at start-up: zod only, never the SDK.

import { z } from 'zod';

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

export const providerConfigSchema = z.strictObject({
  type: z.literal('aws'),
  region: z.string().regex(REGION, 'an AWS region like "us-east-1"'),
  /** a Secrets Manager endpoint other than the regional one (VPC endpoint, FIPS, a local emulator) */
  endpoint: z.url({ protocol: /^https?$/, error: 'an http(s) URL like "https://secretsmanager.us-east-1.amazonaws.com"' }).optional(),
});

export const secretSpecSchema = z
  .strictObject({
    /** secret name or full ARN */
    id: z.string().min(1, 'the secret name or ARN').max(2048),
    /** staging label to read; AWSCURRENT unless versionId pins one version */
    versionStage: z.string().min(1).max(256).optional(),
    /** one immutable version (a UUID); never changes, so it is never re-fetched */
    versionId: z.string().min(32).max(64).optional(),
  })
  .refine((s) => !(s.versionStage !== undefined && s.versionId !== undefined), 'give versionStage or versionId, not both');

export type AwsProviderConfig = z.output<typeof providerConfigSchema>;
export type AwsSecretSpec = z.output<typeof secretSpecSchema>;

export const DEFAULT_STAGE = 'AWSCURRENT';
