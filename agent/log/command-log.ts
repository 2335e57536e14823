// The logger of a command that parses its own flags (webhook, erlang-call),
// made by the same factory and with the same format choice as the others:
// --log-format, else ERLMCP_SECRETS_LOG_FORMAT, else text on a terminal and
// JSON otherwise. And its usage errors: plain text for a person, one JSON
// `error` line for a log pipeline, so that no stray plain line reaches it.

import { AgentError } from '../errors.ts';
import { envLogFormat, LOG_FORMATS, type LogFormat } from '../cli/args.ts';
import { createLogger, defaultLogFormat, logFormatOf, type Logger, type LogLevel } from './logger.ts';
import { scrub } from './secret-registry.ts';

export interface CommandLogIO {
  stderr: { write(s: string): unknown };
  env: NodeJS.ProcessEnv;
}

/**
 * The command's --log-format, looked up before its own parser runs: the
 * parser's errors are reported in the chosen format too. Only the flags
 * before `--`; the last of `--log-format X` / `--log-format=X` counts.
 */
export function logFormatFlag(argv: readonly string[]): LogFormat | undefined {
  let found: string | undefined;
  const end = argv.indexOf('--');
  const own = end === -1 ? argv : argv.slice(0, end);
  own.forEach((a, i) => {
    if (a === '--log-format') found = own[i + 1] ?? '';
    else if (a.startsWith('--log-format=')) found = a.slice('--log-format='.length);
  });
  if (found === undefined) return undefined;
  if (!(LOG_FORMATS as readonly string[]).includes(found)) throw new AgentError('usage', `--log-format: "${found}" is not one of ${LOG_FORMATS.join(', ')}`);
  return found as LogFormat;
}

/** the format for this run; a bad flag or variable is a usage error (AgentError 'usage') */
export function commandLogFormat(argv: readonly string[], io: CommandLogIO): LogFormat {
  return logFormatFlag(argv) ?? envLogFormat(io.env) ?? defaultLogFormat(io.stderr);
}

export function commandLogger(format: LogFormat, io: CommandLogIO, level: LogLevel = 'info'): Logger {
  return createLogger({ level, format, destination: io.stderr });
}

/**
 * A usage error: in text the lines as they are (with the usage text under
 * them), in JSON one `error` line with the message and every problem. Both
 * pass the secret scrubber. The caller exits 2.
 */
export function reportUsage(logger: Logger, stderr: CommandLogIO['stderr'], command: string, problems: readonly string[], usage?: string): void {
  if (logFormatOf(logger) === 'text') {
    stderr.write(scrub(`${problems.map((p) => `${command}: ${p}\n`).join('')}${usage ? `${usage}\n` : ''}`));
    return;
  }
  const message = `${command}: ${problems.length === 1 ? problems[0]! : `${problems.length} problems`}`;
  logger.error({ code: 'usage', exitCode: 2, ...(problems.length > 1 ? { problems: [...problems] } : {}) }, message);
}

/** a usage error found before any logger exists (a bad --log-format or variable): the plain line is all there is */
export function reportEarlyUsage(stderr: CommandLogIO['stderr'], command: string, e: unknown): void {
  stderr.write(scrub(`${command}: ${e instanceof Error ? e.message : String(e)}\n`));
}
