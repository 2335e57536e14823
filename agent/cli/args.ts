// argv -> command + options. Only parsing: no I/O, so it is easy to test.

import { parseArgs } from 'node:util';
import { AgentError } from '../errors.ts';
import { suggestKey } from '../config/known-keys.ts';
import { NO_COMMAND } from './help.ts';

export const COMMANDS = ['init', 'run', 'exec', 'check', 'plan', 'webhook', 'version', 'erlang-call', 'copy-self', 'help'] as const;
export type Command = (typeof COMMANDS)[number];

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface CliArgs {
  command: Command;
  /** help: the command asked about (`help exec`, `exec --help`); none for the overview */
  helpFor?: Exclude<Command, 'help'>;
  config?: string;
  logLevel?: string;
  logFormat?: LogFormat;
  /** exec: the command after `--` */
  child: string[];
  /** webhook / erlang-call / copy-self parse their own flags */
  rest: string[];
}

/** commands that parse their own arguments */
const PASSTHROUGH: ReadonlySet<Command> = new Set(['webhook', 'erlang-call', 'copy-self']);

const isHelpFlag = (a: string) => a === '-h' || a === '--help';

/** a usage error; `helpFor` picks the help printed under it */
export class UsageError extends AgentError {
  readonly helpFor: Exclude<Command, 'help'> | undefined;
  constructor(message: string, helpFor?: Exclude<Command, 'help'>) {
    super('usage', message);
    this.helpFor = helpFor;
  }
}

export function parseCli(argv: string[]): CliArgs {
  const [first, ...tail] = argv;
  if (first === undefined) throw new UsageError(NO_COMMAND);
  if (isHelpFlag(first)) return { command: 'help', child: [], rest: [] };
  if (first === '--version' || first === '-V') return { command: 'version', child: [], rest: [] };
  const command = commandNamed(first);
  if (command === 'help') {
    if (tail.length === 0) return { command: 'help', child: [], rest: [] };
    if (tail.length > 1) throw new UsageError(`help: give one command, e.g. help init (got ${tail.length} arguments)`);
    const about = commandNamed(tail[0]!);
    return about === 'help' ? { command: 'help', child: [], rest: [] } : { command: 'help', helpFor: about, child: [], rest: [] };
  }
  if (PASSTHROUGH.has(command)) {
    // erlang-call's call is a quoted term, never -h; webhook has no positionals
    if (tail.some(isHelpFlag)) return { command: 'help', helpFor: command, child: [], rest: [] };
    return { command, child: [], rest: tail };
  }

  const dashdash = tail.indexOf('--');
  const own = dashdash === -1 ? tail : tail.slice(0, dashdash);
  // `init --help` is how most people ask; only exec's child may have its own --help
  if (own.some(isHelpFlag)) return { command: 'help', helpFor: command, child: [], rest: [] };
  if (command === 'version') {
    if (own.length > 0) throw new UsageError(`version: takes no arguments (got ${JSON.stringify(own[0])})`, command);
    return { command, child: [], rest: [] };
  }
  const child = dashdash === -1 ? [] : tail.slice(dashdash + 1);
  let values: { config?: string[] | undefined; 'log-level'?: string[] | undefined; 'log-format'?: string[] | undefined };
  try {
    // `multiple` so that a repeated flag is seen and refused: with two -c the
    // last would win silently, and the operator would not know which file ran.
    ({ values } = parseArgs({
      args: own,
      options: {
        config: { type: 'string', short: 'c', multiple: true },
        'log-level': { type: 'string', multiple: true },
        'log-format': { type: 'string', multiple: true },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (e) {
    throw new UsageError(`${command}: ${(e as Error).message.replace(/\. To specify a positional.*$/s, '')}`, command);
  }
  const config = single(command, '-c/--config', values.config);
  const logLevel = single(command, '--log-level', values['log-level']);
  const logFormat = single(command, '--log-format', values['log-format']);
  if (config !== undefined && config.trim() === '') throw new UsageError(`${command}: -c/--config is empty; give the path of the agent config, e.g. -c /etc/erlmcp-secrets/agent.yaml`, command);
  if (command === 'exec' && child.length === 0) throw new UsageError('exec: give the command to run after --, e.g. exec -c agent.yaml -- /opt/erlmcp/bin/erlmcp foreground', command);
  if (command !== 'exec' && child.length > 0) throw new UsageError(`${command}: unexpected arguments after --`, command);
  if (logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(`--log-level: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`, command);
  }
  if (logFormat !== undefined && !(LOG_FORMATS as readonly string[]).includes(logFormat)) {
    throw new UsageError(`--log-format: "${logFormat}" is not one of ${LOG_FORMATS.join(', ')}`, command);
  }
  return {
    command,
    ...(config !== undefined ? { config } : {}),
    ...(logLevel !== undefined ? { logLevel } : {}),
    ...(logFormat !== undefined ? { logFormat: logFormat as LogFormat } : {}),
    child,
    rest: [],
  };
}

/** the command a word names, or a usage error with the nearest command */
function commandNamed(word: string): Command {
  if ((COMMANDS as readonly string[]).includes(word)) return word as Command;
  const guess = suggestKey(word, COMMANDS);
  const what = word.startsWith('-') ? `unknown option "${word}" before the command` : `unknown command "${word}"`;
  throw new UsageError(`${what}${guess ? `; did you mean ${guess}?` : ''} (commands: ${COMMANDS.join(', ')})`);
}

function single(command: string, flag: string, given: string[] | undefined): string | undefined {
  if (given === undefined) return undefined;
  if (given.length > 1) throw new AgentError('usage', `${command}: ${flag} given ${given.length} times (${given.map((g) => JSON.stringify(g)).join(', ')}); give it once`);
  return given[0];
}

/** ERLMCP_SECRETS_LOG_LEVEL: unset or empty means the config's level */
export function envLogLevel(env: NodeJS.ProcessEnv): (typeof LOG_LEVELS)[number] | undefined {
  const v = env.ERLMCP_SECRETS_LOG_LEVEL;
  if (v === undefined || v === '') return undefined;
  if (!(LOG_LEVELS as readonly string[]).includes(v)) throw new AgentError('usage', `ERLMCP_SECRETS_LOG_LEVEL: "${v}" is not one of ${LOG_LEVELS.join(', ')}; fix or unset the variable`);
  return v as (typeof LOG_LEVELS)[number];
}

/** ERLMCP_SECRETS_LOG_FORMAT: unset or empty means the config's format */
export function envLogFormat(env: NodeJS.ProcessEnv): LogFormat | undefined {
  const v = env.ERLMCP_SECRETS_LOG_FORMAT;
  if (v === undefined || v === '') return undefined;
  if (!(LOG_FORMATS as readonly string[]).includes(v)) throw new AgentError('usage', `ERLMCP_SECRETS_LOG_FORMAT: "${v}" is not one of ${LOG_FORMATS.join(', ')}; fix or unset the variable`);
  return v as LogFormat;
}
