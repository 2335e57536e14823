// How an error is written into a log line (the logger's `err` serializer).
// pino's standard serializer writes the message, the causes' messages, the
// stack (which starts with the message) and every own property. That is fine
// for our AgentError, whose messages never carry a value, but not for a
// foreign error: V8's JSON.parse quotes the text it choked on, Node's
// argument checks quote the value they refuse, and SDK errors carry response
// bodies, request config and headers. So a foreign error keeps its type, its
// code and its stack frames: enough to find the bug, nothing of the input.

import { isAgentError } from '../errors.ts';

const WITHHELD = '[withheld: a foreign error message may quote a secret; see type, code and stack]';
const MAX_CAUSES = 5;

export interface LoggedError {
  type: string;
  message: string;
  stack?: string;
  code?: string;
  where?: string;
  provider?: string;
  problems?: string[];
  cause?: LoggedError | string;
}

/** err values that are not errors (most call sites log a message string) pass unchanged */
export function errorForLog(value: unknown): unknown {
  return value instanceof Error ? describe(value, MAX_CAUSES, new Set()) : value;
}

/** what a line logged as logger.error(e), with no message of its own, says */
export function errorMessageForLog(e: Error): string {
  return isAgentError(e) ? e.message : `${typeof e.name === 'string' ? e.name : 'Error'} (message withheld)`;
}

function describe(e: Error, causesLeft: number, seen: Set<Error>): LoggedError {
  seen.add(e);
  const ours = isAgentError(e);
  const out: LoggedError = { type: typeof e.name === 'string' ? e.name : 'Error', message: ours ? e.message : WITHHELD };
  const frames = stackFrames(e.stack);
  if (frames) out.stack = frames;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out.code = String(code);
  if (ours) {
    if (e.where !== undefined) out.where = e.where;
    if (e.provider !== undefined) out.provider = e.provider;
    if (e.problems.length > 1) out.problems = e.problems;
  }
  const cause = (e as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    out.cause = seen.has(cause) ? '[cycle]' : causesLeft > 0 ? describe(cause, causesLeft - 1, seen) : '[more causes]';
  } else if (cause !== undefined) {
    out.cause = `[${typeof cause}]`;
  }
  return out;
}

/** the "    at ..." lines only: the lines before them repeat the message */
function stackFrames(stack: unknown): string | undefined {
  if (typeof stack !== 'string') return undefined;
  const frames = stack.split('\n').filter((l) => /^\s+at /.test(l));
  return frames.length > 0 ? frames.join('\n') : undefined;
}
