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
// Without `call`, the notifier runs the built-in reload (erlang-builtin.ts):
// it loads erlmcp_secrets_reload into the node over this connection and calls
// apply_rendered/1, which re-reads the rendered sys.config files, sets the
// application env, clears ssl's PEM cache and calls an operator hook. The
// log names the keys that changed, never their values.
//
// Cookie rotation: a new cookie reaches us (rendered file or store) before the
// node has it. A (re)connect tries the cookie that last worked first (or,
// before any success, the one in place when the agent started), then the
// current one, then the one kept in <cookieFile>.previous. Connected with an
// older cookie, the notifier keeps that cookie in <cookieFile>.previous (mode
// 0400) so a restarted agent can still reach the node; then (cookieRotation:
// node | cluster) sets the new cookie on the node (and on the nodes it is
// connected to) and reconnects with the new cookie to confirm. The .previous
// file goes once a connection with the current cookie succeeds. Connections that are up stay up: Erlang checks
// a cookie only when a connection is set up.
// The rotation waits while any rendered file is still unwritten (change.pending):
// such a file may hold the cookie too (RELX_COOKIE in an env file), and a node
// that restarts from it (heart) would come back on the old cookie after the
// agent had let go of it. Until then the node keeps the old cookie, which the
// agent keeps in .previous; the late notify, once the write lands, rotates.
//
// Values: the calls are the literal calls from the config; no secret value is
// passed as an argument except the new cookie to erlang:set_cookie/1, a BIF
// that cannot fail on an atom (and what comes back is shown by shape only). What comes back from the node (a badrpc reason, a result that
// does not match `expect`) is shown with its text replaced by sizes
// (erlang-term-redact.ts). The cookie is never logged, only which one worked.

import { existsSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ReloadConfig } from '../config/reload-schema.ts';
import { AgentError } from '../errors.ts';
import { parseErlangCall, parseErlangTerm, type ParsedCall } from '../erldist/call-parser.ts';
import { ErlDistClient, type ErlDistClientOptions } from '../erldist/client.ts';
import { readCookieFile } from '../erldist/cookie-file.ts';
import { distPortFromEnv } from '../erldist/epmd.ts';
import { isErlDistError, type ErlDistError } from '../erldist/errors.ts';
import { formatTerm } from '../erldist/format.ts';
import { defaultLocalNodeName, splitNodeName } from '../erldist/node-name.ts';
import { termEquals, type Term } from '../erldist/terms.ts';
import { silentLogger, type Logger } from '../log/logger.ts';
import { registerSecretValue, scrub } from '../log/secret-registry.ts';
import { writeAtomic } from '../writer/atomic-write.ts';
import { applyRendered, BEAM_ENV, BuiltinReloadError, DEFAULT_BEAM_FILE, loadReloadModule, readBeamFile, RELOAD_MODULE, rotateCookie } from './erlang-builtin.ts';
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
  /** ERL_DIST_PORT (the node's fixed distribution port) and ERLMCP_SECRETS_RELOAD_BEAM; default process.env */
  env?: NodeJS.ProcessEnv;
}

type CookieLabel = 'previous' | 'current' | 'kept in .previous';

interface Candidate {
  cookie: string;
  label: CookieLabel;
}

class CookieUnavailable extends Error {}

const REUSED = 'reused the connection';

interface Session {
  client: ErlDistClient;
  how: string;
  /** the cookie the handshake used */
  cookie: string;
}


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
  private queue: Promise<unknown> = Promise.resolve();
  /** the client on which erlmcp_secrets_reload was loaded */
  private loadedOn: ErlDistClient | null = null;
  /** the cookie of the last successful handshake; before one, the cookie at start-up */
  private trusted: string | undefined;
  private readonly env: NodeJS.ProcessEnv;

  constructor(cfg: ErlangReloadConfig, deps: ErlangNotifierDeps) {
    this.cfg = cfg;
    this.deps = deps;
    this.logger = deps.logger ?? silentLogger();
    this.env = deps.env ?? process.env;
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
    const calls = this.calls.length === 0 ? `built-in reload (${RELOAD_MODULE})` : this.calls.map((c) => c.text).join(', ');
    return scrub(`erlang ${calls} on ${this.cfg.node}`);
  }

  /** <cookieFile>.previous: the cookie the node still runs while a rotation is unconfirmed */
  private get previousFile(): string | undefined {
    return this.cfg.cookieFile === undefined ? undefined : `${path.resolve(this.deps.baseDir, this.cfg.cookieFile)}.previous`;
  }

  private keptPreviousCookie(): string | undefined {
    const file = this.previousFile;
    if (file === undefined || !existsSync(file)) return undefined;
    try {
      const cookie = readCookieFile(file);
      registerSecretValue(cookie);
      return cookie;
    } catch (e) {
      this.logger.warn({ node: this.cfg.node, file }, scrub(`erlang reload: ignoring the kept previous cookie: ${(e as Error).message}`));
      return undefined;
    }
  }

  private get port(): number | undefined {
    return this.cfg.port ?? distPortFromEnv(this.env);
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
      ...(this.port !== undefined ? { port: this.port } : {}),
      ...(this.cfg.epmdPort !== undefined ? { epmdPort: this.cfg.epmdPort } : {}),
      ...(t ? { tls: { caFile: resolve(t.caFile), certFile: resolve(t.certFile), keyFile: resolve(t.keyFile), ...(t.serverName ? { serverName: t.serverName } : {}) } } : {}),
      onWarning: (message) => this.logger.warn({ node: this.cfg.node }, scrub(message)),
    };
  }

  /** a connected client: the open one, or a new one with the first cookie the node accepts */
  private async openSession(signal: AbortSignal, deadline: number, now: () => number): Promise<Session> {
    if (this.client?.connected && this.trusted !== undefined) return { client: this.client, how: REUSED, cookie: this.trusted };
    this.client?.close();
    this.client = null;
    let current: string | undefined;
    let unavailable: string | undefined;
    try {
      current = this.currentCookie();
    } catch (e) {
      unavailable = (e as Error).message;
    }
    const candidates: Candidate[] = [];
    const add = (cookie: string | undefined, label: CookieLabel): void => {
      if (cookie !== undefined && !candidates.some((c) => c.cookie === cookie)) candidates.push({ cookie, label });
    };
    add(this.trusted, this.trusted === current || current === undefined ? 'current' : 'previous');
    add(current, 'current');
    add(this.keptPreviousCookie(), 'kept in .previous');
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
      const rejectedPrevious = this.trusted !== undefined && this.trusted !== current && c.cookie === current;
      this.client = client;
      this.trusted = c.cookie;
      const old = current !== undefined && c.cookie !== current;
      // which cookie worked, never the cookie itself
      const how = old
        ? `connected with the ${c.label} cookie: the node has not picked up the new one yet`
        : rejectedPrevious
          ? 'connected with the new cookie: the node rejected the previous one'
          : 'connected';
      this.logger.info({ node: this.cfg.node, localNode: this.localNodeName, cookieUsed: c.label, cookieRotated: old || rejectedPrevious }, `erlang reload: ${how}`);
      return { client, how, cookie: c.cookie };
    }
    const missing = unavailable ? `; the current cookie could not be read (${unavailable})` : '';
    throw new CookieRejected(`node ${this.cfg.node} rejected ${rejected.join(' and ')}${missing}: check the cookie the node runs with`);
  }

  private callOptions(deadline: number, now: () => number, signal: AbortSignal): { timeoutMs: number; signal: AbortSignal } {
    return { timeoutMs: Math.max(1, deadline - now()), signal };
  }

  /** loads erlmcp_secrets_reload once per connection (a restarted node has lost it) */
  private async ensureModule(client: ErlDistClient, opts: { timeoutMs: number; signal: AbortSignal }): Promise<void> {
    if (this.loadedOn === client) return;
    const configured = this.cfg.apply?.beamFile;
    const file = configured !== undefined ? path.resolve(this.deps.baseDir, configured) : (this.env[BEAM_ENV] ?? DEFAULT_BEAM_FILE);
    await loadReloadModule(client, readBeamFile(file), opts);
    this.loadedOn = client;
  }

  /** the built-in reload: apply_rendered/1, logged as the keys that changed */
  private async runBuiltin(client: ErlDistClient, opts: { timeoutMs: number; signal: AbortSignal }): Promise<string> {
    await this.ensureModule(client, opts);
    const a = this.cfg.apply;
    const r = await applyRendered(client, { configFiles: a?.configFiles ?? [], envFiles: a?.envFiles ?? [], clearPemCache: a?.clearPemCache ?? true, ...(a?.hook ? { hook: a.hook } : {}) }, opts);
    this.logger.info({ node: this.cfg.node, changed: r.changed, changedEnv: r.changedEnv, pemCache: r.pemCache, distPemCache: r.distPemCache, hook: r.hook }, scrub(`erlang reload: applied the rendered config (${r.changed.length} keys, ${r.changedEnv.length} variables changed)`));
    const hookText = a?.hook ? `; hook ${a.hook}: ${r.hook}` : '';
    const changed = [...r.changed, ...r.changedEnv.map((n) => `$${n}`)];
    return `${RELOAD_MODULE}:apply_rendered -> changed ${changed.length ? changed.join(', ') : 'nothing'}; PEM cache ${r.pemCache}${hookText}`;
  }

  /**
   * The node accepted an older cookie than the current one (the caller has
   * kept it in .previous): set the new one on the node (and its peers),
   * confirm with a fresh handshake, then let go of .previous. Returns what
   * happened, or throws with why the rotation is incomplete.
   */
  private async rotate(session: Session, current: string, signal: AbortSignal, deadline: number, now: () => number): Promise<string> {
    const kept = this.previousFile;
    const opts = this.callOptions(deadline, now, signal);
    const scope = this.cfg.cookieRotation === 'cluster' ? 'cluster' : 'node';
    const r = await rotateCookie(session.client, current, scope, opts);
    const failed = r.peers.filter((p) => p.result !== 'ok');
    // confirm: the node must accept the new cookie on a new connection
    session.client.close();
    if (this.client === session.client) this.client = null;
    const fresh = new ErlDistClient(this.clientOptions(current, Math.max(1, deadline - now())));
    try {
      await connectRetryingBusy(fresh, signal, deadline, now);
    } catch (e) {
      fresh.close();
      throw new BuiltinReloadError(`set the new cookie, but a new connection with it failed (${connectFailure(e, this.timeoutMs)}); kept the previous cookie${kept ? ` in ${kept}` : ''}`);
    }
    this.client = fresh;
    this.trusted = current;
    // the module stays loaded on the node; this connection need not load it again
    if (this.loadedOn === session.client) this.loadedOn = fresh;
    this.dropConfirmedPrevious();
    const peers = scope === 'cluster' ? ` and ${r.peers.length - failed.length} of ${r.peers.length} connected nodes` : '';
    const problems = failed.length ? `; not on ${failed.map((p) => `${p.node} (${p.result})`).join(', ')}` : '';
    this.logger.info({ node: this.cfg.node, scope, peers: r.peers.map((p) => `${p.node}: ${p.result}`) }, scrub(`erlang reload: the node confirmed the new cookie`));
    return `cookie rotated on the node${peers}${problems}, confirmed by a new connection`;
  }

  private async keepPrevious(cookie: string): Promise<void> {
    const kept = this.previousFile;
    if (kept !== undefined) await writeAtomic(kept, Buffer.from(cookie, 'latin1'), { mode: 0o400 });
  }

  /** a kept .previous is stale once the node accepted the current cookie */
  private dropConfirmedPrevious(): void {
    const kept = this.previousFile;
    if (kept !== undefined && existsSync(kept)) unlinkSync(kept);
  }

  /** a .previous cookie is kept, so the node may still run it: a rotation to finish */
  get cookieRotationPending(): boolean {
    const kept = this.previousFile;
    return this.cfg.cookieRotation !== 'off' && kept !== undefined && existsSync(kept);
  }

  /** one notify at a time: two would race for the one connection under our name */
  notify(change: ChangeSet, signal: AbortSignal): Promise<Outcome> {
    const run = this.queue.then(() => this.notifyOnce(change, signal));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async notifyOnce(change: ChangeSet, signal: AbortSignal): Promise<Outcome> {
    const now = this.deps.now ?? Date.now;
    const started = now();
    const deadline = started + this.timeoutMs;
    const done = (ok: boolean, detail: string): Outcome => ({ ok, detail: scrub(`${this.describe()}: ${detail}`), durationMs: now() - started });
    let session: Session;
    try {
      session = await this.openSession(signal, deadline, now);
    } catch (e) {
      return done(false, connectFailure(e, this.timeoutMs));
    }
    const steps: Array<{ text: string; run: (client: ErlDistClient) => Promise<string> }> =
      this.calls.length === 0
        ? [{ text: `${RELOAD_MODULE}:apply_rendered`, run: (client) => this.runBuiltin(client, this.callOptions(deadline, now, signal)) }]
        : this.calls.map(({ text, parsed }) => ({
            text,
            run: async (client) => {
              const result = await client.call(parsed.module, parsed.function, parsed.args, this.callOptions(deadline, now, signal));
              if (this.expected !== undefined && !termEquals(result, this.expected)) {
                throw new ExpectMismatch(`${text} returned ${describeNodeTerm(result)}, expected ${formatTerm(this.expected)}`);
              }
              return `${text} -> ${describeNodeTerm(result)}`;
            },
          }));
    const results: string[] = [];
    for (const step of steps) {
      try {
        try {
          results.push(await step.run(session.client));
        } catch (e) {
          // A kept connection can be dead without us having seen the close yet
          // (the node restarted a moment ago): reconnect once and repeat. A
          // reload call is idempotent by nature (it re-reads files).
          if (!(session.how === REUSED && isErlDistError(e) && e.kind === 'closed')) throw e;
          this.client?.close();
          this.client = null;
          session = await this.openSession(signal, deadline, now);
          results.push(await step.run(session.client));
        }
      } catch (e) {
        const before = results.length ? ` (after ${results.join('; ')})` : '';
        if (isErlDistError(e) && (e.kind === 'closed' || e.kind === 'timeout')) {
          // the next notify starts from a fresh connection
          this.client?.close();
          this.client = null;
        }
        if (e instanceof ExpectMismatch || e instanceof BuiltinReloadError) return done(false, `${e.message}${before}`);
        if (e instanceof AgentError) return done(false, `${e.message}${before}`);
        return done(false, `${callFailure(e, step.text)}${before}`);
      }
    }
    const rotation = await this.rotateIfBehind(session, change.pending ?? [], signal, deadline, now);
    if (rotation !== undefined && !rotation.ok) return done(false, `${results.join('; ')}; ${rotation.detail}`);
    const rotated = rotation ? `; ${rotation.detail}` : '';
    return done(true, `${results.join('; ')}${rotated} (${session.how})`);
  }

  /** rotates the node's cookie when it still runs an older one; undefined when nothing was to do */
  private async rotateIfBehind(session: Session, pending: readonly string[], signal: AbortSignal, deadline: number, now: () => number): Promise<{ ok: boolean; detail: string } | undefined> {
    let current: string;
    try {
      current = this.currentCookie();
    } catch {
      return undefined;
    }
    if (session.cookie === current) {
      try {
        this.dropConfirmedPrevious();
      } catch (e) {
        this.logger.warn({ node: this.cfg.node }, `erlang reload: could not remove ${this.previousFile}: ${(e as Error).message}`);
      }
      return undefined;
    }
    try {
      // a restarted agent reads the current cookie only: keep the one the node
      // runs until it confirms the new one
      await this.keepPrevious(session.cookie);
      if (this.cfg.cookieRotation === 'off') return { ok: true, detail: 'the node still runs the previous cookie (cookieRotation: off)' };
      if (pending.length > 0) {
        const why = `${pending.length} rendered file(s) not written yet (${pending.join(', ')})`;
        this.logger.warn({ node: this.cfg.node, pending }, scrub(`erlang reload: cookie rotation deferred: ${why}; the node keeps the previous cookie (kept in ${this.previousFile ?? 'memory only: cookieSecret'}) until they are written`));
        return { ok: true, detail: `cookie rotation deferred: ${why}; the node still runs the previous cookie` };
      }
      return { ok: true, detail: await this.rotate(session, current, signal, deadline, now) };
    } catch (e) {
      const why = e instanceof BuiltinReloadError || e instanceof AgentError ? e.message : callFailure(e, `${RELOAD_MODULE}:rotate_cookie`);
      this.logger.warn({ node: this.cfg.node }, scrub(`erlang reload: cookie rotation incomplete: ${why}`));
      return { ok: false, detail: `cookie rotation incomplete: ${why}` };
    }
  }

  /** closes the connection (agent shutdown); a later notify reconnects */
  close(): void {
    this.client?.close();
    this.client = null;
  }
}

class CookieRejected extends Error {}
class ExpectMismatch extends Error {}

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
