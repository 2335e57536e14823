// The rotation-age policy: a secret with `maxAge` is overdue once the
// backend's current version is older than that. Overdue is reported (a
// warning, metrics, /readyz), and fails `init` only with `failInit: true`.
// Pure; the age comes from SecretValue.createdAt (providers/version-time.ts
// checked it).

import { AgentError } from '../errors.ts';
import type { SecretConfig } from '../config/load.ts';
import type { SecretValue } from '../providers/provider.ts';

export interface RotationAge {
  secret: string;
  maxAgeMs: number;
  /** undefined: the backend did not say when the version was made */
  ageMs?: number;
  createdAt?: number;
  overdue: boolean;
}

/** undefined for a secret without maxAge */
export function rotationAge(secret: SecretConfig, value: SecretValue, now: number): RotationAge | undefined {
  if (secret.maxAgeMs === undefined) return undefined;
  if (value.createdAt === undefined) return { secret: secret.name, maxAgeMs: secret.maxAgeMs, overdue: false };
  const ageMs = Math.max(0, now - value.createdAt);
  return { secret: secret.name, maxAgeMs: secret.maxAgeMs, ageMs, createdAt: value.createdAt, overdue: ageMs > secret.maxAgeMs };
}

/** "95d 4h", "3h 20m", "42s": an age for a person */
export function formatAge(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** the warning's text: names the secret and its age, never a value */
export function overdueMessage(a: RotationAge): string {
  return `secret ${a.secret} is ${formatAge(a.ageMs ?? 0)} old (created ${new Date(a.createdAt ?? 0).toISOString()}), past its maxAge of ${formatAge(a.maxAgeMs)}: rotate it in its backend`;
}

/** the fields of the warning's log line */
export function ageFields(a: RotationAge): Record<string, unknown> {
  return { secret: a.secret, ageSeconds: Math.floor((a.ageMs ?? 0) / 1000), maxAgeSeconds: Math.floor(a.maxAgeMs / 1000), createdAt: a.createdAt === undefined ? undefined : new Date(a.createdAt).toISOString() };
}

/** init's error for overdue secrets whose config says failInit: exit 3 */
export function overdueError(overdue: RotationAge[]): AgentError {
  const problems = overdue.map((a) => `${a.secret}: ${overdueMessage(a)} (failInit: true)`);
  return new AgentError('validation', problems[0]!, { problems, where: `secrets.${overdue[0]!.secret}.maxAge` });
}
