// `http` notifier: one request to the application's admin endpoint (e.g.
// POST /admin/reload-config). Success is a status in `expectStatus`.
// Connection errors, 5xx and 429 are retried `retries` times with a short
// doubling backoff, all inside the notifier's `timeout`. The detail names
// method, origin + path and status only: never headers (they may carry a
// token), the query string, or the response body (it may echo a value).

import type https from 'node:https';
import type { ReloadConfig } from '../config/reload-schema.ts';
import { scrub } from '../log/secret-registry.ts';
import { realClock } from '../scheduler/clock.ts';
import type { ChangeSet, Notifier, Outcome } from './notifier.ts';
import { isReadRefusal, readBounded, refusalDetail } from '../files/bounded-read.ts';
import { READ_LIMITS } from '../files/read-limits.ts';

export type HttpReloadConfig = Extract<ReloadConfig, { type: 'http' }>;

const FIRST_RETRY_DELAY_MS = 200;

export interface HttpDeps {
  now?: () => number;
  /** waits between attempts; default real timers */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

interface Response {
  status: number;
}

export class HttpNotifier implements Notifier {
  readonly kind = 'http';
  readonly timeoutMs: number;
  private readonly cfg: HttpReloadConfig;
  private readonly deps: HttpDeps;
  private readonly url: URL;
  private readonly expected: number[];

  constructor(cfg: HttpReloadConfig, deps: HttpDeps = {}) {
    this.cfg = cfg;
    this.deps = deps;
    this.timeoutMs = cfg.timeout;
    this.url = new URL(cfg.url);
    this.expected = Array.isArray(cfg.expectStatus) ? cfg.expectStatus : [cfg.expectStatus];
  }

  describe(): string {
    return scrub(`${this.cfg.method} ${this.url.origin}${this.url.pathname}`);
  }

  async notify(_change: ChangeSet, signal: AbortSignal): Promise<Outcome> {
    const now = this.deps.now ?? Date.now;
    const started = now();
    const done = (ok: boolean, detail: string): Outcome => ({ ok, detail: `${this.describe()}: ${detail}`, durationMs: now() - started });
    let ca: Buffer | undefined;
    if (this.cfg.caFile) {
      try {
        ca = await readBounded(this.cfg.caFile, READ_LIMITS.tls);
      } catch (e) {
        if (!isReadRefusal(e)) throw e;
        return done(false, `cannot read caFile ${this.cfg.caFile}${refusalDetail(e)}`);
      }
    }
    const sleep = this.deps.sleep ?? ((ms: number, signal: AbortSignal) => realClock.sleep(ms, signal));
    let last = '';
    for (let attempt = 0; attempt <= this.cfg.retries; attempt++) {
      if (attempt > 0) {
        try {
          await sleep(FIRST_RETRY_DELAY_MS * 2 ** (attempt - 1), signal);
        } catch {
          break;
        }
      }
      if (signal.aborted) break;
      try {
        const res = await this.request(ca, signal);
        const tries = attempt > 0 ? ` after ${attempt + 1} attempts` : '';
        if (this.expected.includes(res.status)) return done(true, `status ${res.status}${tries}`);
        last = `status ${res.status}, expected ${this.expected.join(' or ')}`;
        if (res.status < 500 && res.status !== 429) return done(false, last + tries);
      } catch (e) {
        if (signal.aborted) break;
        last = describeRequestError(e);
      }
    }
    if (signal.aborted) return done(false, `timed out or cancelled${last ? ` (last: ${last})` : ''}`);
    return done(false, `${last} after ${this.cfg.retries + 1} attempts`);
  }

  private request(ca: Buffer | undefined, signal: AbortSignal): Promise<Response> {
    const isHttps = this.url.protocol === 'https:';
    const body = this.cfg.body;
    const headers: Record<string, string> = { ...this.cfg.headers };
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) {
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    return new Promise<Response>((resolve, reject) => {
      // headers go on the request, not into its options: NODE_DEBUG=http
      // prints a new connection's options, an Authorization header included
      const opts: https.RequestOptions = { method: this.cfg.method, signal };
      if (isHttps && ca) opts.ca = ca;
      // loaded on first use: the sidecar imports every notifier, configured or not, and node:https alone costs ~10 ms
      const req = process.getBuiltinModule(isHttps ? 'node:https' : 'node:http').request(this.url, opts, (res) => {
        // drain without keeping: the body may echo a value
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
        res.on('error', reject);
      });
      req.on('error', reject);
      try {
        for (const [name, value] of Object.entries(headers)) req.setHeader(name, value);
      } catch (e) {
        req.destroy();
        reject(e);
        return;
      }
      req.end(body);
    });
  }
}

function describeRequestError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.code === 'ECONNRESET') return 'connection reset';
  if (err.code === 'ENOTFOUND') return 'host not found';
  if (err.code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(err.code)) return `TLS verification failed (${err.code}); set caFile to the server's CA`;
  return err.code ?? err.name ?? 'request failed';
}
