// Logger on stderr (stdout belongs to command output and, in exec mode, to
// the application), as JSON lines or as text for people (log.format,
// --log-format). Redaction by key paths, errors without their foreign
// messages, plus a scrub of every known secret value in the serialized line,
// and again in the text line made from it.

import pino from 'pino';
import { scrub } from './secret-registry.ts';
import { errorForLog, errorMessageForLog } from './error-fields.ts';
import { jsonLineToText } from './text-format.ts';

export type Logger = pino.Logger;

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type LogFormat = 'text' | 'json';

/** each logger's current format; a logger is made before the config that may set it is read */
const formats = new WeakMap<pino.Logger, { format: LogFormat }>();

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
  /** default json */
  format?: LogFormat;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const out = opts.destination ?? process.stderr;
  const state = { format: opts.format ?? 'json' };
  const logger = pino(
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
    { write: (line: string) => out.write(state.format === 'json' ? line : scrub(jsonLineToText(line, scrub))) },
  );
  formats.set(logger, state);
  return logger;
}

/** switches the format of a logger made by createLogger (and of its children, which share its stream) */
export function setLogFormat(logger: Logger, format: LogFormat): void {
  const state = formats.get(logger);
  if (state) state.format = format;
}

export function logFormatOf(logger: Logger): LogFormat {
  return formats.get(logger)?.format ?? 'json';
}

/** the format when nothing chose one: text for a person at a terminal, JSON for a log collector */
export function defaultLogFormat(stderr: unknown): LogFormat {
  return (stderr as { isTTY?: unknown } | undefined)?.isTTY === true ? 'text' : 'json';
}

/** a logger that drops everything (library defaults, pure-function tests) */
export function silentLogger(): Logger {
  // an explicit stream: without one pino opens its own stdout writer, which
  // the bundle leaves out (image/slim-deps.mjs)
  return pino({ level: 'silent' }, { write: () => true });
}
