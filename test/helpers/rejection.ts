// For provider tests: the AgentError a call rejects with, recorded for the
// leak check and logged the way the scheduler logs it (the whole error,
// cause and all, through the real logger).

import type { Logger } from 'pino';
import { AgentError } from '../../agent/errors.ts';

export function rejectionRecorder(logger: Logger, errorTexts: string[]): (p: Promise<unknown>) => Promise<AgentError> {
  return async (p) => {
    try {
      await p;
    } catch (e) {
      if (e instanceof AgentError) {
        errorTexts.push(e.message, ...e.problems);
        logger.warn({ err: e }, 'secret fetch failed');
        return e;
      }
      throw e;
    }
    throw new Error('expected a rejection');
  };
}
