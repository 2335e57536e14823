// JSON-lines logger on stderr (stdout belongs to command output and, in exec
// mode, to the application). Redaction by key paths, errors without their
// foreign messages, plus a scrub of every known secret value in the
// serialized line.

import pino from 'pino';
import { scrub } from './secret-registry.ts';
import { errorForLog, errorMessageForLog } from './error-fields.ts';

export type Logger = pino.Logger;

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

// Keys that hold credentials in the payloads we might log by mistake
// (request bodies, SDK errors). Values under them never reach the output.
const REDACT_PATHS = [
  'password', '*.password', 'token', '*.token', 'client_token', '*.client_token',
  'secret_id', '*.secret_id', 'jwt', '*.jwt', 'data', '*.data', 'value', '*.value',
  'headers.authorization', '*.headers.authorization', 'headers["x-vault-token"]', '*.headers["x-vault-token"]',
  'SecretString', '*.SecretString', 'SecretBinary', '*.SecretBinary', 'cookie', '*.cookie',
];

export interface LoggerOptions {
  level?: LogLevel;
  /** where lines go; default stderr. Tests pass an in-memory stream. */
  destination?: { write(line: string): unknown };
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const out = opts.destination ?? process.stderr;
  return pino(
    {
      level: opts.level ?? 'info',
      base: { app: 'erlmcp-secrets' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      // foreign errors: type, code and frames only (error-fields.ts)
      serializers: { err: errorForLog },
      hooks: {
        // logger.error(e) without a message would make e.message the line's msg
        logMethod(args, method) {
          const [first, second] = args as unknown[];
          if (first instanceof Error && typeof second !== 'string') return method.call(this, { err: first }, errorMessageForLog(first));
          return method.apply(this, args);
        },
        streamWrite: (line) => scrub(line),
      },
    },
    { write: (line: string) => out.write(line) },
  );
}

/** a logger that drops everything (library defaults, pure-function tests) */
export function silentLogger(): Logger {
  // an explicit stream: without one pino opens its own stdout writer, which
  // the bundle leaves out (image/slim-deps.mjs)
  return pino({ level: 'silent' }, { write: () => true });
}
