// `erlang` notifier: after a change, call e.g. erlmcp_config:reload() on the
// running node over the distribution protocol (agent/erldist/).
//
//   new ErlangNotifier(cfg, { baseDir, logger, store })
//   notify() -> connect (once; kept between reloads) -> each call in order -> Outcome
//
// Atoms: every node name the target sees becomes a permanent atom there, so
// the notifier talks under one fixed hidden name per agent host and keeps its
// one connection open between reloads instead of reconnecting per call.
//
// Cookie rotation: a new cookie reaches us (rendered file or store) before the
// node has it; the node only learns it when it restarts. So a (re)connect
// tries the cookie that last worked first (or, before any success, the one
// in place when the agent started), then the current one.
//
// Values: the calls are the literal calls from the config; no secret value is
// ever passed as an argument, so a crash report that echoes arguments cannot
// carry one. What comes back from the node (a badrpc reason, a result that
// does not match `expect`) is shown with its text replaced by sizes
// (erlang-term-redact.ts). The cookie is never logged, only which one worked.

import os from 'node:os';
import path from 'node:path';
import type { ReloadConfig } from '../config/reload-schema.ts';
import { AgentError } from '../errors.ts';
import { parseErlangCall, parseErlangTerm, type ParsedCall } from '../erldist/call-parser.ts';
import { ErlDistClient, type ErlDistClientOptions } from '../erldist/client.ts';
import { readCookieFile } from '../erldist/cookie-file.ts';
import { isErlDistError, type ErlDistError } from '../erldist/errors.ts';
import { formatTerm } from '../erldist/format.ts';
import { defaultLocalNodeName, splitNodeName } from '../erldist/node-name.ts';
import { termEquals, type Term } from '../erldist/terms.ts';
import { silentLogger, type Logger } from '../log/logger.ts';
import { registerSecretValue, scrub } from '../log/secret-registry.ts';
import { erlangCalls, splitCookieSecret } from './erlang-config-check.ts';
import { describeNodeTerm } from './erlang-term-redact.ts';
import type { ChangeSet, Notifier, Outcome } from './notifier.ts';

export type ErlangReloadConfig = Extract<ReloadConfig, { type: 'erlang' }>;

/** the part of SecretStore the notifier reads (cookieSecret) */
export interface CookieStore {
  get(name: string): { value: { data: Record<string, string> } } | undefined;
}

export interface ErlangNotifierDeps {
  /** relative cookieFile / tls paths resolve against this (the config's directory) */
  baseDir: string;
  logger?: Logger;
  /** required for cookieSecret */
  store?: CookieStore;
  /** our hidden node name; default erlmcp_secrets_<role>_<hash of hostname>@host */
  localNodeName?: string;
  /** role part of the default name (see defaultAlive); default 'reload' */
  role?: string;
  now?: () => number;
}

type CookieLabel = 'previous' | 'current';

interface Candidate {
  cookie: string;
  label: CookieLabel;
}

class CookieUnavailable extends Error {}

const REUSED = 'reused the connection';

export class ErlangNotifier implements Notifier {
  readonly kind = 'erlang';
  readonly timeoutMs: number;
  readonly localNodeName: string;
  private readonly cfg: ErlangReloadConfig;
  private readonly deps: ErlangNotifierDeps;
  private readonly logger: Logger;
  private readonly calls: Array<{ text: string; parsed: ParsedCall }>;
  private readonly expected: Term | undefined;
  private client: ErlDistClient | null = null;
  /** the cookie of the last successful handshake; before one, the cookie at start-up */
  private trusted: string | undefined;

  constructor(cfg: ErlangReloadConfig, deps: ErlangNotifierDeps) {
    this.cfg = cfg;
    this.deps = deps;
    this.logger = deps.logger ?? silentLogger();
    this.timeoutMs = cfg.timeout;
    // load.ts has checked these already; a programmatic caller gets the same message
    try {
      this.calls = erlangCalls(cfg).map((text) => ({ text, parsed: parseErlangCall(text) }));
      this.expected = cfg.expect === undefined ? undefined : parseErlangTerm(cfg.expect);
      this.localNodeName = deps.localNodeName ?? defaultLocalNodeName(splitNodeName(cfg.node), os.hostname(), deps.role ?? 'reload');
    } catch (e) {
      throw new AgentError('config', `reload erlang ${cfg.node}: ${(e as Error).message}`, { cause: e });
    }
    if ((cfg.cookieFile === undefined) === (cfg.cookieSecret === undefined)) {
      throw new AgentError('config', `reload erlang ${cfg.node}: give exactly one of cookieFile or cookieSecret`);
    }
    if (cfg.cookieSecret !== undefined && (deps.store === undefined || splitCookieSecret(cfg.cookieSecret) === undefined)) {
      throw new AgentError('config', `reload erlang ${cfg.node}: cookieSecret "${cfg.cookieSecret}" needs a secret store and the form secret.key`);
    }
    // The node was started with the cookie in place now (init rendered it just
    // before the sidecar started); remember it for the first rotation.
    try {
      this.trusted = this.currentCookie();
    } catch {
      this.trusted = undefined;
    }
  }

  /** whether a connection to the node is open (kept between reloads) */
  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  describe(): string {
    const calls = this.calls.map((c) => c.text).join(', ');
    return scrub(`erlang ${calls} on ${this.cfg.node}`);
  }

  private currentCookie(): string {
    if (this.cfg.cookieFile !== undefined) {
      const cookie = readCookieFile(path.resolve(this.deps.baseDir, this.cfg.cookieFile));
      registerSecretValue(cookie);
      return cookie;
    }
    const ref = splitCookieSecret(this.cfg.cookieSecret!)!;
    const entry = this.deps.store!.get(ref.secret);
    const data = entry?.value.data;
    const cookie = data !== undefined && Object.hasOwn(data, ref.key) ? data[ref.key] : undefined;
    if (cookie === undefined || cookie.trim() === '') {
      throw new CookieUnavailable(`cookieSecret ${this.cfg.cookieSecret}: ${entry ? `secret "${ref.secret}" has no non-empty key "${ref.key}"` : `secret "${ref.secret}" is not in the store yet`}`);
    }
    return cookie.trim();
  }

  private clientOptions(cookie: string, connectTimeoutMs: number): ErlDistClientOptions {
    const t = this.cfg.tls;
    const resolve = (f: string): string => path.resolve(this.deps.baseDir, f);
    return {
      node: this.cfg.node,
      cookie,
      localNodeName: this.localNodeName,
      connectTimeoutMs,
      callTimeoutMs: this.timeoutMs,
      ...(this.cfg.port !== undefined ? { port: this.cfg.port } : {}),
      ...(this.cfg.epmdPort !== undefined ? { epmdPort: this.cfg.epmdPort } : {}),
      ...(t ? { tls: { caFile: resolve(t.caFile), certFile: resolve(t.certFile), keyFile: resolve(t.keyFile), ...(t.serverName ? { serverName: t.serverName } : {}) } } : {}),
      onWarning: (message) => this.logger.warn({ node: this.cfg.node }, scrub(message)),
    };
  }

  /** a connected client: the open one, or a new one with the first cookie the node accepts */
  private async openSession(signal: AbortSignal, deadline: number, now: () => number): Promise<{ client: ErlDistClient; how: string }> {
    if (this.client?.connected) return { client: this.client, how: REUSED };
    this.client?.close();
    this.client = null;
    let current: string | undefined;
    let unavailable: string | undefined;
    try {
      current = this.currentCookie();
    } catch (e) {
      unavailable = (e as Error).message;
    }
    const rotated = this.trusted !== undefined && current !== undefined && current !== this.trusted;
    const candidates: Candidate[] = [];
    if (this.trusted !== undefined) candidates.push({ cookie: this.trusted, label: rotated || current === undefined ? 'previous' : 'current' });
    if (current !== undefined && current !== this.trusted) candidates.push({ cookie: current, label: 'current' });
    if (candidates.length === 0) throw new CookieUnavailable(unavailable ?? 'no cookie');

    const rejected: string[] = [];
    for (const c of candidates) {
      const client = new ErlDistClient(this.clientOptions(c.cookie, Math.max(1, deadline - now())));
      try {
        await connectRetryingBusy(client, signal, deadline, now);
      } catch (e) {
        client.close();
        if (isErlDistError(e) && e.kind === 'cookie') {
          rejected.push(`the ${c.label} cookie`);
          continue;
        }
        throw e;
      }
      this.client = client;
      this.trusted = c.cookie;
      // which cookie worked, never the cookie itself
      const how = !rotated
        ? 'connected'
        : c.label === 'previous'
          ? 'connected with the previous cookie: the node has not picked up the new one yet'
          : 'connected with the new cookie: the node rejected the previous one';
      this.logger.info({ node: this.cfg.node, localNode: this.localNodeName, cookieUsed: c.label, cookieRotated: rotated }, `erlang reload: ${how}`);
      return { client, how };
    }
    const missing = unavailable ? `; the current cookie could not be read (${unavailable})` : '';
    throw new CookieRejected(`node ${this.cfg.node} rejected ${rejected.join(' and ')}${missing}: check the cookie the node runs with`);
  }

  async notify(_change: ChangeSet, signal: AbortSignal): Promise<Outcome> {
    const now = this.deps.now ?? Date.now;
    const started = now();
    const deadline = started + this.timeoutMs;
    const done = (ok: boolean, detail: string): Outcome => ({ ok, detail: scrub(`${this.describe()}: ${detail}`), durationMs: now() - started });
    let session: { client: ErlDistClient; how: string };
    try {
      session = await this.openSession(signal, deadline, now);
    } catch (e) {
      return done(false, connectFailure(e, this.timeoutMs));
    }
    const results: string[] = [];
    for (const { text, parsed } of this.calls) {
      let result: Term;
      try {
        const call = (client: ErlDistClient): Promise<Term> =>
          client.call(parsed.module, parsed.function, parsed.args, { timeoutMs: Math.max(1, deadline - now()), signal });
        try {
          result = await call(session.client);
        } catch (e) {
          // A kept connection can be dead without us having seen the close yet
          // (the node restarted a moment ago): reconnect once and repeat. A
          // reload call is idempotent by nature (it re-reads files).
          if (!(session.how === REUSED && isErlDistError(e) && e.kind === 'closed')) throw e;
          this.client?.close();
          this.client = null;
          session = await this.openSession(signal, deadline, now);
          result = await call(session.client);
        }
      } catch (e) {
        const before = results.length ? ` (after ${results.join('; ')})` : '';
        if (isErlDistError(e) && (e.kind === 'closed' || e.kind === 'timeout')) {
          // the next notify starts from a fresh connection
          this.client?.close();
          this.client = null;
        }
        return done(false, `${callFailure(e, text)}${before}`);
      }
      if (this.expected !== undefined && !termEquals(result, this.expected)) {
        const before = results.length ? ` (after ${results.join('; ')})` : '';
        return done(false, `${text} returned ${describeNodeTerm(result)}, expected ${formatTerm(this.expected)}${before}`);
      }
      results.push(`${text} -> ${describeNodeTerm(result)}`);
    }
    return done(true, `${results.join('; ')} (${session.how})`);
  }

  /** closes the connection (agent shutdown); a later notify reconnects */
  close(): void {
    this.client?.close();
    this.client = null;
  }
}

class CookieRejected extends Error {}

function connectOrAbort(client: ErlDistClient, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new DOMException('aborted', 'AbortError'));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      client.close();
      reject(new DOMException('aborted', 'AbortError'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    client.connect().then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

const BUSY_RETRY_MS = 100;

/**
 * A node that still holds a half-done handshake under our name (an attempt
 * we gave up on while it was frozen or overloaded) answers the next one with
 * status nok until it has dropped the old one: retry until the deadline.
 */
async function connectRetryingBusy(client: ErlDistClient, signal: AbortSignal, deadline: number, now: () => number): Promise<void> {
  for (;;) {
    try {
      await connectOrAbort(client, signal);
      return;
    } catch (e) {
      const busy = isErlDistError(e) && e.kind === 'handshake' && e.message.includes('(status nok)');
      if (!busy || now() + BUSY_RETRY_MS >= deadline || signal.aborted) throw e;
      await new Promise((r) => setTimeout(r, BUSY_RETRY_MS));
    }
  }
}

function connectFailure(e: unknown, timeoutMs: number): string {
  if (e instanceof CookieRejected) return e.message;
  if (e instanceof CookieUnavailable) return `no cookie: ${e.message}`;
  if (e instanceof DOMException && e.name === 'AbortError') return `connecting was cut off (timeout ${timeoutMs} ms or shutdown)`;
  if (isErlDistError(e)) return `${kindHint(e)}${e.message}`;
  return `cannot connect: ${(e as Error).message}`;
}

function kindHint(e: ErlDistError): string {
  switch (e.kind) {
    case 'not_found':
    case 'unreachable':
      return 'node down or unreachable: ';
    case 'timeout':
      return 'no answer in time: ';
    default:
      return '';
  }
}

function callFailure(e: unknown, text: string): string {
  if (!isErlDistError(e)) return `${text} failed: ${(e as Error).message}`;
  if (e.kind === 'badrpc') {
    // our own rendering of the reason, not the client's message: text inside it is cut to sizes
    return `${text} failed on the node: {badrpc,${describeNodeTerm(e.reason as Term)}}`;
  }
  return `${text}: ${kindHint(e)}${e.message}`;
}

/**
 * The `deps.erlang` builder for createNotifiers: one hidden name per notifier
 * (a second connection under a name the node already knows would replace the
 * first), stable across restarts of the agent.
 */
export function erlangNotifierFactory(deps: ErlangNotifierDeps): (cfg: ErlangReloadConfig) => ErlangNotifier {
  let made = 0;
  return (cfg) => {
    const role = made === 0 ? (deps.role ?? 'reload') : `${deps.role ?? 'reload'}${made}`;
    made++;
    return new ErlangNotifier(cfg, { ...deps, role });
  };
}
