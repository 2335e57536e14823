// The contract's exit codes (fixed), mapped from error codes in one place.

import type { ErrorCode } from '../errors.ts';

export const EXIT = { ok: 0, internal: 1, config: 2, secret: 3, backend: 4 } as const;

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'usage':
    case 'config':
    case 'template':
      return EXIT.config;
    case 'missing':
    case 'validation':
      return EXIT.secret;
    case 'unavailable':
    case 'auth':
    case 'timeout':
      return EXIT.backend;
    case 'internal':
      return EXIT.internal;
  }
}
