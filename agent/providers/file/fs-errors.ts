// File system failures -> AgentError. Only the errno code is kept from the
// original error: the path is ours to print, nothing else is needed.

import { AgentError } from '../../errors.ts';
import type { FilePlace } from './file-place.ts';

export function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isNotFound(e: unknown): boolean {
  const code = errnoOf(e);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export function fsError(e: unknown, place: FilePlace, provider: string): AgentError {
  const code = errnoOf(e);
  if (code === 'EACCES' || code === 'EPERM') {
    const uid = process.getuid?.();
    const who = uid === undefined ? "the agent's user" : `the agent's user (uid ${uid})`;
    return new AgentError('auth', `cannot read ${place.display}: permission denied (${code}); make it readable by ${who}, e.g. with the pod's fsGroup or defaultMode`, {
      where: place.abs,
      provider,
    });
  }
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new AgentError('missing', `${place.display} does not exist`, { where: place.abs, provider });
  }
  if (code === 'ELOOP') {
    return new AgentError('validation', `cannot read ${place.display}: its symbolic links form a loop`, { where: place.abs, provider });
  }
  if (code === 'ABORT_ERR' || (e as { name?: unknown } | null)?.name === 'AbortError') {
    return new AgentError('timeout', `reading ${place.display} was cancelled`, { where: place.abs, provider });
  }
  // EIO, EMFILE, ESTALE (NFS)...: may well pass
  return new AgentError('unavailable', `cannot read ${place.display}: ${code ?? 'unknown error'}; will retry`, {
    where: place.abs,
    provider,
    retryable: true,
  });
}
