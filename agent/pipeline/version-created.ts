// A fetched value with its version's creation time, for a secret with a
// maxAge: asks the provider separately when its read did not say (GCP's
// version metadata, a file's mtime). A failure here never fails the fetch:
// the value is good, only its age is unknown, and a warning says why.

import type { SecretConfig } from '../config/load.ts';
import { asAgentError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Provider, SecretRef, SecretValue } from '../providers/provider.ts';

export async function withCreatedAt(secret: SecretConfig, provider: Provider, ref: SecretRef, value: SecretValue, signal: AbortSignal, logger: Logger): Promise<SecretValue> {
  if (secret.maxAgeMs === undefined || value.createdAt !== undefined || !provider.versionCreatedAt) return value;
  try {
    const at = await provider.versionCreatedAt(ref, value, signal);
    return at === undefined ? value : { ...value, createdAt: at };
  } catch (e) {
    const err = asAgentError(e, `${secret.name}: version time`);
    logger.warn({ secret: secret.name, provider: provider.name, outcome: err.code, err: err.message }, `cannot tell when secret ${secret.name}'s version was made; its age is unknown`);
    return value;
  }
}
