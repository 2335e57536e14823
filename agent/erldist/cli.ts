// `erlmcp-secrets erlang-call --node N --cookie-file F 'mod:fun(Args)'`
// Prints the result as an Erlang term on stdout.
// Exit: 0 ok, 1 {badrpc, Reason}, 2 usage, 4 unreachable / bad cookie / timeout.

import os from 'node:os';
import { parseArgs } from 'node:util';
import { parseErlangCall } from './call-parser.ts';
import { ErlDistClient, type ErlDistClientOptions } from './client.ts';
import { readCookieFile } from './cookie-file.ts';
import { defaultEpmdPort, distPortFromEnv } from './epmd.ts';
import { ErlDistError, isErlDistError } from './errors.ts';
import { formatTerm } from './format.ts';
import { defaultLocalNodeName, splitNodeName } from './node-name.ts';
import { commandLogFormat, commandLogger, reportEarlyUsage, reportUsage } from '../log/command-log.ts';
import { registerSecretValue } from '../log/secret-registry.ts';

export const ERLANG_CALL_EXIT = { ok: 0, badrpc: 1, usage: 2, unreachable: 4 } as const;

export const ERLANG_CALL_USAGE = `usage: erlmcp-secrets erlang-call --node NAME@HOST --cookie-file FILE [options] 'mod:fun(Args)'

  --node N              target node (erlmcp@host for -sname, erlmcp@host.domain / @IP for -name)
  --cookie-file F       file holding the distribution cookie
  --timeout MS          call timeout in milliseconds (default 30000)
  --connect-timeout MS  EPMD + connect + handshake timeout (default 10000)
  --host H              connect to H instead of the node name's host
  --port P              the node's distribution port: skip EPMD (default $ERL_DIST_PORT when set)
  --epmd-port P         EPMD port (default $ERL_EPMD_PORT or 4369)
  --local-name N        our hidden node name (default erlmcp_secrets_cli_<hash>@<host>)
  --tls-ca F --tls-cert F --tls-key F   TLS distribution (-proto_dist inet_tls)
  --tls-server-name S   name to verify in the node's certificate
  --log-format F        text | json (default text on a terminal, else json)

Arguments must be literal terms: atoms, numbers, "strings", <<"binaries">>, [lists], {tuples}, #{maps}.
Exit codes: 0 ok, 1 the call failed on the node (badrpc), 2 usage, 4 unreachable / cookie rejected / timeout.`;

export interface ErlangCallIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  env: NodeJS.ProcessEnv;
}

function usage(message: string): never {
  throw new ErlDistError('usage', message);
}

function positiveInt(flag: string, v: string | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n <= 0 || n > max) usage(`${flag} ${JSON.stringify(v)} is not a positive integer${max < 65536 ? ' port number' : ''}`);
  return n;
}

function buildOptions(argv: string[], env: NodeJS.ProcessEnv): { options: ErlDistClientOptions; call: string; timeoutMs: number | undefined } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        node: { type: 'string' },
        'cookie-file': { type: 'string' },
        timeout: { type: 'string' },
        'connect-timeout': { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        'epmd-port': { type: 'string' },
        'local-name': { type: 'string' },
        'tls-ca': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-server-name': { type: 'string' },
        // read before parsing (commandLogFormat); listed so the parser accepts it
        'log-format': { type: 'string' },
      },
    });
  } catch (e) {
    usage((e as Error).message);
  }
  const v = parsed.values;
  if (v.node === undefined) usage('--node is required (e.g. --node erlmcp@127.0.0.1)');
  if (v['cookie-file'] === undefined) usage('--cookie-file is required');
  if (parsed.positionals.length !== 1) {
    usage(`expected exactly one call such as 'erlmcp_config:reload()', got ${parsed.positionals.length} arguments (quote the call)`);
  }
  const tlsFlags = [v['tls-ca'], v['tls-cert'], v['tls-key']];
  if (tlsFlags.some((f) => f !== undefined) && tlsFlags.some((f) => f === undefined)) {
    usage('TLS needs all three of --tls-ca, --tls-cert and --tls-key');
  }
  const cookie = readCookieFile(v['cookie-file']);
  // the scrubber's net under every diagnostic below, as for the sidecar's cookie
  registerSecretValue(cookie);
  const options: ErlDistClientOptions = {
    node: v.node,
    cookie,
    epmdPort: positiveInt('--epmd-port', v['epmd-port'], 65535) ?? defaultEpmdPort(env),
  };
  // an EPMD-less node (erlmcp's release sets ERL_DIST_PORT) is reached on that port
  const port = positiveInt('--port', v.port, 65535) ?? distPortFromEnv(env);
  if (port !== undefined) options.port = port;
  const connectTimeout = positiveInt('--connect-timeout', v['connect-timeout']);
  if (connectTimeout !== undefined) options.connectTimeoutMs = connectTimeout;
  if (v.host !== undefined) options.host = v.host;
  // The CLI has its own fixed name so that it never displaces the sidecar's
  // long-lived connection (same name = the node drops the older connection).
  options.localNodeName = v['local-name'] ?? defaultLocalNodeName(splitNodeName(v.node, 'target node name'), os.hostname(), 'cli');
  if (v['tls-ca'] !== undefined && v['tls-cert'] !== undefined && v['tls-key'] !== undefined) {
    options.tls = { caFile: v['tls-ca'], certFile: v['tls-cert'], keyFile: v['tls-key'] };
    if (v['tls-server-name'] !== undefined) options.tls.serverName = v['tls-server-name'];
  }
  return { options, call: parsed.positionals[0] as string, timeoutMs: positiveInt('--timeout', v.timeout) };
}

export function exitCodeFor(e: unknown): number {
  if (!isErlDistError(e)) return ERLANG_CALL_EXIT.unreachable;
  switch (e.kind) {
    case 'usage':
    case 'encode':
      return ERLANG_CALL_EXIT.usage;
    case 'badrpc':
      return ERLANG_CALL_EXIT.badrpc;
    default:
      return ERLANG_CALL_EXIT.unreachable;
  }
}

export async function runErlangCall(
  argv: string[],
  io: ErlangCallIO = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(`${ERLANG_CALL_USAGE}\n`);
    return ERLANG_CALL_EXIT.ok;
  }
  let format;
  try {
    format = commandLogFormat(argv, io);
  } catch (e) {
    reportEarlyUsage(io.stderr, 'erlang-call', e);
    return ERLANG_CALL_EXIT.usage;
  }
  // diagnostics go through the logger; the result on stdout is the command's output
  const logger = commandLogger(format, io);
  let client: ErlDistClient | undefined;
  try {
    const { options, call, timeoutMs } = buildOptions(argv, io.env);
    const parsed = parseErlangCall(call);
    client = new ErlDistClient(options);
    const result = await client.call(parsed.module, parsed.function, parsed.args, timeoutMs === undefined ? {} : { timeoutMs });
    io.stdout.write(`${formatTerm(result)}\n`);
    return ERLANG_CALL_EXIT.ok;
  } catch (e) {
    const code = exitCodeFor(e);
    const message = e instanceof Error ? e.message : String(e);
    if (code === ERLANG_CALL_EXIT.usage) reportUsage(logger, io.stderr, 'erlang-call', [message], isErlDistError(e) && e.kind === 'usage' ? ERLANG_CALL_USAGE : undefined);
    else logger.error({ code: isErlDistError(e) ? e.kind : 'unreachable', exitCode: code }, `erlang-call: ${message}`);
    return code;
  } finally {
    client?.close();
  }
}
