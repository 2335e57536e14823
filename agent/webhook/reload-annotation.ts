// secrets.erlmcp.io/reload: one notifier per line, run in order after a change.
//   erlang                          the built-in reload (erlmcp_secrets_reload, loaded by the agent)
//   erlang:MODULE:FUNCTION          call MODULE:FUNCTION() on the node
//   erlang:MODULE:FUNCTION(ARGS)    the same with arguments
//   signal:SIGHUP:/run/erlmcp/erlmcp.pid   or   signal:SIGHUP:beam.smp (process name)
//   http://127.0.0.1:8081/admin/reload-config   (POST; also written http:URL)
//   none
// Exec notifiers run inside the agent container, which has none of the app's
// tools, so they are only available through secrets.erlmcp.io/config.

import { shown, type Parsed } from './annotation-values.ts';

export interface ReloadContext {
  /** secrets.erlmcp.io/reload-erlang-node, or the default */
  erlangNode: string;
  /** secrets.erlmcp.io/reload-erlang-cookie */
  erlangCookie?: string;
  /** secrets.erlmcp.io/reload-erlang-port */
  erlangPort?: number;
  /** secrets.erlmcp.io/reload-erlang-tls-*-file, all three */
  erlangTls?: { caFile: string; certFile: string; keyFile: string };
  /** for the built-in reload: the rendered Erlang term files (sys.config) */
  erlangConfigFiles?: string[];
  /** the pod shares one process namespace (needed to signal another container) */
  sharedProcessNamespace: boolean;
  /** exec mode: the agent is the app's parent in the same container */
  sameContainer: boolean;
}

const ATOM = '[a-z][A-Za-z0-9_@]*';
const CALL = new RegExp(`^(${ATOM}):(${ATOM})(\\(.*\\))?$`);
const SIGNALS = ['SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGWINCH'];

export function parseReload(value: string, ctx: ReloadContext): Parsed<Record<string, unknown>[]> {
  const lines = value.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length === 0) return { ok: false, problem: 'is empty; give a notifier such as "erlang:erlmcp_config:reload", or "none"' };
  if (lines.length === 1 && lines[0] === 'none') return { ok: true, value: [] };
  const out: Record<string, unknown>[] = [];
  for (const [i, line] of lines.entries()) {
    const where = lines.length > 1 ? `line ${i + 1}: ` : '';
    const r = parseOne(line, ctx);
    if (!r.ok) return { ok: false, problem: `${where}${r.problem}` };
    out.push(r.value);
  }
  return { ok: true, value: out };
}

function parseOne(line: string, ctx: ReloadContext): Parsed<Record<string, unknown>> {
  if (line === 'erlang' || line.startsWith('erlang:')) {
    const m = line === 'erlang' ? null : CALL.exec(line.slice('erlang:'.length));
    if (line !== 'erlang' && !m) return { ok: false, problem: `erlang reload is "erlang" (the built-in reload) or erlang:MODULE:FUNCTION with lowercase atoms, e.g. "erlang:erlmcp_config:reload", got ${shown(line)}` };
    const cookie = cookieFields(ctx.erlangCookie);
    if (!cookie.ok) return cookie;
    const call = m ? { call: `${m[1]}:${m[2]}${m[3] ?? '()'}` } : { apply: { configFiles: ctx.erlangConfigFiles ?? [] } };
    const where = { ...(ctx.erlangPort !== undefined ? { port: ctx.erlangPort } : {}), ...(ctx.erlangTls ? { tls: ctx.erlangTls } : {}) };
    return { ok: true, value: { type: 'erlang', node: ctx.erlangNode, ...call, ...cookie.value, ...where } };
  }
  if (line.startsWith('signal:')) {
    const [, signal, target, extra] = line.split(':');
    if (signal === undefined || !SIGNALS.includes(signal) || target === undefined || target === '' || extra !== undefined) {
      return { ok: false, problem: `signal reload is signal:SIGNAL:/pid/file or signal:SIGNAL:process-name with SIGNAL one of ${SIGNALS.join(', ')}, got ${shown(line)}` };
    }
    if (!ctx.sameContainer && !ctx.sharedProcessNamespace) {
      return { ok: false, problem: 'a signal reload reaches another container only when the pod sets spec.shareProcessNamespace: true; set it, or use an erlang or http reload' };
    }
    return { ok: true, value: { type: 'signal', signal, ...(target.startsWith('/') ? { pidFile: target } : { processName: target }) } };
  }
  const url = line.startsWith('http:http') ? line.slice('http:'.length) : line;
  if (/^https?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      return { ok: false, problem: `${shown(url)} is not a valid URL` };
    }
    return { ok: true, value: { type: 'http', url, method: 'POST' } };
  }
  if (line.startsWith('exec:')) {
    return { ok: false, problem: 'exec reloads run in the agent container, which lacks the app\'s tools; declare them in secrets.erlmcp.io/config under reload: if the agent image has the program' };
  }
  return { ok: false, problem: `unknown notifier ${shown(line)}; use erlang:MODULE:FUNCTION, signal:SIGNAL:TARGET, an http(s) URL, or none` };
}

function cookieFields(cookie: string | undefined): Parsed<Record<string, string>> {
  if (cookie === undefined) {
    return { ok: false, problem: 'an erlang reload needs the node\'s cookie: set secrets.erlmcp.io/reload-erlang-cookie to a secret key such as "cookie.value" or to a file path' };
  }
  if (cookie.startsWith('/')) return { ok: true, value: { cookieFile: cookie } };
  if (/^[A-Za-z][A-Za-z0-9_-]*\.[^.\s]+$/.test(cookie)) return { ok: true, value: { cookieSecret: cookie } };
  return { ok: false, problem: `secrets.erlmcp.io/reload-erlang-cookie must be SECRET.KEY (e.g. "cookie.value") or an absolute file path, got ${shown(cookie)}` };
}
