// AWS SDK errors -> AgentError. Pure: works on the error's name, HTTP status
// and fault fields, never on its message (AWS messages may quote a request),
// so every message here is ours and carries no value.

import { AgentError } from '../../errors.ts';
import { notBeforeText, parseRetryAfter, parseRetryAfterMs } from '../retry-after.ts';
import { isoOrUnknown } from '../backend-numbers.ts';

export interface AwsCallContext {
  /** the provider's name in `providers:` */
  provider: string;
  /** the secret's name in `secrets:` */
  secret: string;
  region: string;
  endpoint: string | undefined;
  secretId: string;
  /** "stage AWSCURRENT" or "version 0123..." */
  selector: string;
  /** the IAM action of the failed call, e.g. secretsmanager:GetSecretValue */
  action: string;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'UND_ERR_SOCKET']);
const THROTTLING = new Set(['ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded', 'LimitExceededException', 'Throttling', 'RequestThrottled']);
const BAD_CREDENTIALS = new Set(['UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException', 'InvalidClientTokenId', 'IncompleteSignature', 'SignatureDoesNotMatch', 'MissingAuthenticationToken']);

interface SdkErrorShape {
  name: string;
  status: number | undefined;
  fault: string | undefined;
  code: string | undefined;
  message: string;
  /** the raw response's Retry-After, which a 429 may carry */
  retryAfter: string | undefined;
  /** x-amz-retry-after: milliseconds, AWS's own hint (the SDK's retry strategy reads it too) */
  amzRetryAfter: string | undefined;
}

/** a header of the SDK's raw HttpResponse (hidden `$response`), by any case */
function responseHeader(response: unknown, name: string): string | undefined {
  const headers = (response as { headers?: unknown } | undefined)?.headers;
  if (!headers || typeof headers !== 'object') return undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const v = key === undefined ? undefined : (headers as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : undefined;
}

function shapeOf(e: unknown): SdkErrorShape {
  const o = (e ?? {}) as { name?: unknown; code?: unknown; message?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: unknown }; $response?: unknown };
  return {
    name: typeof o.name === 'string' ? o.name : 'Error',
    status: typeof o.$metadata?.httpStatusCode === 'number' ? o.$metadata.httpStatusCode : undefined,
    fault: typeof o.$fault === 'string' ? o.$fault : undefined,
    code: typeof o.code === 'string' ? o.code : undefined,
    message: typeof o.message === 'string' ? o.message : '',
    retryAfter: responseHeader(o.$response, 'retry-after'),
    amzRetryAfter: responseHeader(o.$response, 'x-amz-retry-after'),
  };
}

function restoreHint(c: AwsCallContext): string {
  return `restore it with \`aws secretsmanager restore-secret --secret-id ${c.secretId} --region ${c.region}\`, or point secrets.${c.secret}.id at another secret`;
}

export function scheduledForDeletion(c: AwsCallContext, deletedDate?: Date): AgentError {
  const when = deletedDate ? ` (deletion requested ${isoOrUnknown(deletedDate)})` : '';
  return new AgentError('missing', `aws provider "${c.provider}": secret "${c.secretId}" in region ${c.region} is scheduled for deletion${when}: ${restoreHint(c)}`, {
    where: `secrets.${c.secret}`,
    provider: c.provider,
  });
}

export function stageNotFound(c: AwsCallContext): AgentError {
  return new AgentError('missing', `aws provider "${c.provider}": secret "${c.secretId}" in region ${c.region} has no version with ${c.selector}: check secrets.${c.secret}.versionStage / versionId (aws secretsmanager list-secret-version-ids --secret-id ${c.secretId})`, {
    where: `secrets.${c.secret}`,
    provider: c.provider,
  });
}

export function emptySecret(c: AwsCallContext): AgentError {
  return new AgentError('missing', `aws provider "${c.provider}": secret "${c.secretId}" (${c.selector}) in region ${c.region} has neither SecretString nor SecretBinary`, {
    where: `secrets.${c.secret}`,
    provider: c.provider,
  });
}

export function mapAwsError(e: unknown, c: AwsCallContext): AgentError {
  if (e instanceof AgentError) return e;
  const err = shapeOf(e);
  const at = `aws provider "${c.provider}"`;
  const init = { where: `secrets.${c.secret}`, provider: c.provider, cause: e };

  if (err.name === 'AbortError') {
    return new AgentError('timeout', `${at}: request for secret "${c.secretId}" was aborted (init timeout or shutdown)`, init);
  }
  if (err.name === 'ResourceNotFoundException') {
    return new AgentError('missing', `${at}: secret "${c.secretId}" (${c.selector}) was not found in region ${c.region}: check secrets.${c.secret}.id, the provider's region, and that a version carries that stage or id`, init);
  }
  // GetSecretValue on a secret that DeleteSecret scheduled for removal. AWS says
  // "...because it was marked for deletion."; moto "...currently marked deleted."
  if (err.name === 'InvalidRequestException' && /marked (for )?delet|scheduled for deletion/i.test(err.message)) {
    return scheduledForDeletion(c);
  }
  if (err.name === 'AccessDeniedException') {
    return new AgentError('auth', `${at}: access denied: the AWS identity may not call ${c.action} on secret "${c.secretId}" in region ${c.region}; allow that action on the secret's ARN in the role's policy (and kms:Decrypt on its KMS key if it uses a customer managed key)`, init);
  }
  if (err.name === 'DecryptionFailure') {
    return new AgentError('auth', `${at}: Secrets Manager could not decrypt secret "${c.secretId}" with its KMS key: allow kms:Decrypt on that key for the agent's role`, init);
  }
  if (BAD_CREDENTIALS.has(err.name)) {
    return new AgentError('auth', `${at}: AWS rejected the credentials (${err.name}) calling ${c.action} in region ${c.region}: check the role (IRSA/Pod Identity) or the AWS_* variables, and the system clock`, init);
  }
  if (err.name === 'CredentialsProviderError' || /could not load credentials/i.test(err.message)) {
    return new AgentError('auth', `${at}: no AWS credentials found: on EKS annotate the pod's service account with eks.amazonaws.com/role-arn (IRSA) or use EKS Pod Identity; elsewhere set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE`, init);
  }
  if (THROTTLING.has(err.name) || err.status === 429) {
    // AWS's milliseconds are the finer hint when both are sent
    const amzMs = parseRetryAfterMs(err.amzRetryAfter);
    const retryAfterMs = amzMs ?? parseRetryAfter(err.retryAfter);
    const notBefore = notBeforeText(retryAfterMs, amzMs === undefined ? 'Retry-After' : 'x-amz-retry-after');
    return new AgentError('unavailable', `${at}: Secrets Manager throttled ${c.action} for secret "${c.secretId}" (${err.name}); will retry with backoff${notBefore}`, {
      ...init,
      retryable: true,
      throttled: true,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if ((err.status !== undefined && err.status >= 500) || err.fault === 'server' || err.name === 'InternalServiceError') {
    return new AgentError('unavailable', `${at}: Secrets Manager failed ${c.action} for secret "${c.secretId}" (${err.name}${err.status ? `, HTTP ${err.status}` : ''}); will retry`, { ...init, retryable: true });
  }
  if ((err.code !== undefined && NETWORK_CODES.has(err.code)) || err.name === 'TimeoutError' || err.name === 'RequestTimeout') {
    const where = c.endpoint ?? `the regional endpoint of ${c.region}`;
    return new AgentError('unavailable', `${at}: cannot reach Secrets Manager at ${where} (${err.code ?? err.name}); will retry`, { ...init, retryable: true });
  }
  if (err.name === 'InvalidParameterException' || err.name === 'InvalidRequestException' || err.name === 'ValidationException') {
    return new AgentError('config', `${at}: Secrets Manager rejected ${c.action} for secret "${c.secretId}" (${c.selector}) with ${err.name}: check secrets.${c.secret}`, init);
  }
  return new AgentError('unavailable', `${at}: ${c.action} for secret "${c.secretId}" failed with ${err.name}${err.status ? ` (HTTP ${err.status})` : ''}; will retry`, { ...init, retryable: true });
}
