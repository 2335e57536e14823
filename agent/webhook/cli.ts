// `erlmcp-secrets webhook --tls-cert F --tls-key F [--listen ADDR] [--config webhook.yaml]`
// Runs until SIGTERM/SIGINT, then drains and exits 0. Exit 2 for usage,
// config or certificate problems found at start-up.

import { parseArgs } from 'node:util';
import { AgentError, isAgentError } from '../errors.ts';
import { type Logger, type LogLevel } from '../log/logger.ts';
import { commandLogFormat, commandLogger, reportEarlyUsage, reportUsage } from '../log/command-log.ts';
import { startWebhookServer, type WebhookServer } from './server.ts';
import { loadWebhookConfig, parseWebhookConfig, type WebhookConfig } from './webhook-config.ts';
import { parseListenAddress, type ListenAddress } from '../server/listen-address.ts';

export const WEBHOOK_USAGE = `usage: erlmcp-secrets webhook --tls-cert FILE --tls-key FILE [options]
  --listen ADDR               host:port to bind (default from --config, else 0.0.0.0:8443)
  --config FILE               webhook config, YAML or JSON (agent image, Vault defaults, resources...)
  --agent-image IMAGE         the agent image injected into pods
  --agent-binary-image IMAGE  exec mode: the single-binary image copied into the app container
  --mode MODE                 default mode: native-sidecar | sidecar | init-only | exec
  --vault-address URL         default Vault address for pods that use vault:
  --vault-role ROLE           default Vault kubernetes-auth role
  --vault-auth-mount M        default kubernetes auth mount (default kubernetes)
  --vault-ca-file FILE        CA file path inside the agent container
  --shutdown-delay SECONDS    after SIGTERM, serve this long while not ready (default 5;
                              a second SIGTERM or SIGINT stops at once)
  --log-level LEVEL           trace | debug | info | warn | error | fatal | silent
  --log-format FORMAT         text | json (default text on a terminal, else json)
The certificate and key are re-read when their files change (cert-manager rotation).`;

export interface WebhookRunOptions {
  /** stops the webhook like SIGTERM does (tests) */
  signal?: AbortSignal;
  /** called once the server listens (tests) */
  onListening?(server: WebhookServer): void;
  stderr?: { write(s: string): unknown };
  /** ERLMCP_SECRETS_LOG_LEVEL / _FORMAT; default process.env */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** in place of the config's shutdownDelaySeconds (tests) */
  shutdownDelayMs?: number;
  /** cert watcher tuning, passed through (tests) */
  debounceMs?: number;
  pollMs?: number;
}

export async function runWebhook(argv: string[], run: WebhookRunOptions = {}): Promise<number> {
  const stderr = run.stderr ?? process.stderr;
  const io = { stderr, env: run.env ?? process.env };
  let format;
  try {
    format = commandLogFormat(argv, io);
  } catch (e) {
    reportEarlyUsage(stderr, 'webhook', e);
    return 2;
  }
  // one logger for usage errors and the server's lines; --log-level applies once checked
  const logger = run.logger ?? commandLogger(format, io);
  const usage = (problems: readonly string[], withUsage = false): number => {
    reportUsage(logger, stderr, 'webhook', problems, withUsage ? WEBHOOK_USAGE : undefined);
    return 2;
  };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        listen: { type: 'string' },
        config: { type: 'string', short: 'c' },
        'agent-image': { type: 'string' },
        'agent-binary-image': { type: 'string' },
        mode: { type: 'string' },
        'vault-address': { type: 'string' },
        'vault-role': { type: 'string' },
        'vault-auth-mount': { type: 'string' },
        'vault-ca-file': { type: 'string' },
        'shutdown-delay': { type: 'string' },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (e) {
    return usage([(e as Error).message.replace(/\. To specify a positional.*$/s, '')], true);
  }
  if (values.help) {
    stderr.write(`${WEBHOOK_USAGE}\n`);
    return 0;
  }
  const certFile = values['tls-cert'] as string | undefined;
  const keyFile = values['tls-key'] as string | undefined;
  if (!certFile || !keyFile) {
    return usage(['--tls-cert and --tls-key are required (the API server only calls webhooks over HTTPS)'], true);
  }
  const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
  const level = (values['log-level'] as string | undefined) || io.env.ERLMCP_SECRETS_LOG_LEVEL || 'info';
  if (!levels.includes(level)) return usage([`--log-level: "${level}" is not one of ${levels.join(', ')}`]);
  if (!run.logger) logger.level = level as LogLevel;

  let config: WebhookConfig;
  let host: string;
  let port: number;
  try {
    const raw = (await loadWebhookConfig(values.config as string | undefined)) as Record<string, unknown>;
    config = parseWebhookConfig(applyFlags(raw, values), values.config ? String(values.config) : 'webhook flags');
    ({ host, port } = parseListen(config.listen));
  } catch (e) {
    if (!isAgentError(e)) throw e;
    return usage(e.problems);
  }

  let server: WebhookServer;
  try {
    server = await startWebhookServer({
      certFile,
      keyFile,
      host,
      port,
      config,
      logger,
      ...(run.debounceMs !== undefined ? { debounceMs: run.debounceMs } : {}),
      ...(run.pollMs !== undefined ? { pollMs: run.pollMs } : {}),
    });
  } catch (e) {
    if (isAgentError(e)) return usage([e.message]);
    const err = e as NodeJS.ErrnoException;
    return usage([`cannot listen on ${config.listen} (${err.code ?? err.message})`]);
  }
  run.onListening?.(server);

  await stopRequested(run.signal);
  const delayMs = run.shutdownDelayMs ?? config.shutdownDelaySeconds * 1000;
  if (delayMs > 0) {
    server.drain();
    logger.info({ delaySeconds: delayMs / 1000 }, 'webhook stopping: not ready, still serving while the endpoints drop this pod (a second SIGTERM stops now)');
    const skip = new AbortController();
    await Promise.race([new Promise<void>((resolve) => setTimeout(resolve, delayMs)), stopRequested(skip.signal)]);
    skip.abort();
  }
  logger.info('webhook stopping: draining connections');
  await server.close();
  return 0;
}

/** the next SIGTERM or SIGINT, or the signal's abort */
function stopRequested(signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    if (signal?.aborted) stop();
    else signal?.addEventListener('abort', stop);
  });
}

/** flags win over the config file */
function applyFlags(raw: Record<string, unknown>, v: Record<string, string | boolean | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  const section = (name: string): Record<string, unknown> => {
    const cur = out[name];
    const obj = cur !== null && typeof cur === 'object' && !Array.isArray(cur) ? { ...(cur as Record<string, unknown>) } : {};
    out[name] = obj;
    return obj;
  };
  if (typeof v.listen === 'string') out.listen = v.listen;
  if (typeof v.mode === 'string') out.mode = v.mode;
  if (typeof v['agent-image'] === 'string') section('agent').image = v['agent-image'];
  if (typeof v['agent-binary-image'] === 'string') section('agent').binaryImage = v['agent-binary-image'];
  if (typeof v['vault-address'] === 'string') section('vault').address = v['vault-address'];
  if (typeof v['vault-role'] === 'string') section('vault').role = v['vault-role'];
  if (typeof v['vault-auth-mount'] === 'string') section('vault').authMount = v['vault-auth-mount'];
  // a number for the schema's check; anything else stays a string, which it refuses with the key's name
  if (typeof v['shutdown-delay'] === 'string') out.shutdownDelaySeconds = /^\d+$/.test(v['shutdown-delay']) ? Number(v['shutdown-delay']) : v['shutdown-delay'];
  if (typeof v['vault-ca-file'] === 'string') section('vault').caFile = v['vault-ca-file'];
  return out;
}

/** "0.0.0.0:8443", ":8443", "[::]:8443", "127.0.0.1:0" */
export function parseListen(listen: string): ListenAddress {
  try {
    return parseListenAddress(listen, '--listen');
  } catch {
    // the same grammar as server.listen; a command-line mistake is a usage error
    throw new AgentError('usage', `listen address "${listen}" is not host:port (e.g. 0.0.0.0:8443, :8443, [::]:8443)`);
  }
}
