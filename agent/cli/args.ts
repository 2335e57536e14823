// argv -> command + options. Only parsing: no I/O, so it is easy to test.

import { parseArgs } from 'node:util';
import { AgentError } from '../errors.ts';

export const COMMANDS = ['init', 'run', 'exec', 'check', 'webhook', 'version', 'erlang-call', 'copy-self', 'help'] as const;
export type Command = (typeof COMMANDS)[number];

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export interface CliArgs {
  command: Command;
  config?: string;
  logLevel?: string;
  /** exec: the command after `--` */
  child: string[];
  /** webhook / erlang-call parse their own flags */
  rest: string[];
}

export const USAGE = `usage:
  erlmcp-secrets init    -c agent.yaml             fetch, validate, render once, then exit
  erlmcp-secrets run     -c agent.yaml             init, then stay as sidecar
  erlmcp-secrets exec    -c agent.yaml -- CMD ...  init, then run CMD with secrets in its env
  erlmcp-secrets check   -c agent.yaml             config and templates only, no backend calls
  erlmcp-secrets webhook --tls-cert F --tls-key F [--listen ADDR] [--config webhook.yaml]
  erlmcp-secrets erlang-call --node N --cookie-file F 'mod:fun(args)'
  erlmcp-secrets copy-self DEST                    single binary: copy itself to DEST (exec mode's init container)
  erlmcp-secrets version
options:
  -c, --config FILE   agent config (YAML or JSON); default: $ERLMCP_SECRETS_CONFIG text
  --log-level LEVEL   trace | debug | info | warn | error | fatal | silent
exit codes: 0 ok, 1 internal error, 2 usage/config/template, 3 secret missing or invalid, 4 backend unreachable/denied/timeout`;

export function parseCli(argv: string[]): CliArgs {
  const [first, ...tail] = argv;
  if (first === undefined || first === '-h' || first === '--help') return { command: 'help', child: [], rest: [] };
  if (!(COMMANDS as readonly string[]).includes(first)) {
    throw new AgentError('usage', `unknown command "${first}" (commands: ${COMMANDS.filter((c) => c !== 'help').join(', ')})`);
  }
  const command = first as Command;
  if (command === 'webhook' || command === 'erlang-call' || command === 'copy-self') return { command, child: [], rest: tail };

  const dashdash = tail.indexOf('--');
  const own = dashdash === -1 ? tail : tail.slice(0, dashdash);
  // `init --help` is how most people ask; only exec's child may have its own --help
  if (own.includes('-h') || own.includes('--help')) return { command: 'help', child: [], rest: [] };
  const child = dashdash === -1 ? [] : tail.slice(dashdash + 1);
  let values: { config?: string[] | undefined; 'log-level'?: string[] | undefined };
  try {
    // `multiple` so that a repeated flag is seen and refused: with two -c the
    // last would win silently, and the operator would not know which file ran.
    ({ values } = parseArgs({
      args: own,
      options: { config: { type: 'string', short: 'c', multiple: true }, 'log-level': { type: 'string', multiple: true } },
      allowPositionals: false,
      strict: true,
    }));
  } catch (e) {
    throw new AgentError('usage', `${command}: ${(e as Error).message.replace(/\. To specify a positional.*$/s, '')}`);
  }
  const config = single(command, '-c/--config', values.config);
  const logLevel = single(command, '--log-level', values['log-level']);
  if (config !== undefined && config.trim() === '') throw new AgentError('usage', `${command}: -c/--config is empty; give the path of the agent config, e.g. -c /etc/erlmcp-secrets/agent.yaml`);
  if (command === 'exec' && child.length === 0) throw new AgentError('usage', 'exec: give the command to run after --, e.g. exec -c agent.yaml -- /opt/erlmcp/bin/erlmcp foreground');
  if (command !== 'exec' && child.length > 0) throw new AgentError('usage', `${command}: unexpected arguments after --`);
  if (logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new AgentError('usage', `--log-level: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  return {
    command,
    ...(config !== undefined ? { config } : {}),
    ...(logLevel !== undefined ? { logLevel } : {}),
    child,
    rest: [],
  };
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
