// The built-in `erlang` reload: erlmcp has no function that applies rotated
// secrets, so the agent brings one. It loads templates/erlang/erlmcp_secrets_reload
// (compiled .beam) into the running node over the distribution connection with
// code:load_binary/3, then calls it:
//
//   loadReloadModule(client, beam)                      -> {module, erlmcp_secrets_reload}
//   applyRendered(client, { configFiles, hook, ... })   -> { changed: ['erlmcp_core.db_pools'], pemCache, hook }
//   rotateCookie(client, cookie, 'cluster')             -> { peers: [{ node, result: 'ok' }] }
//
// What comes back names keys and nodes, never values; a hostile or broken
// node's answer is checked for shape and cut to bounded counts.

import { isReadRefusal, readBoundedSync } from '../files/bounded-read.ts';
import type { ErlDistClient } from '../erldist/client.ts';
import { isErlDistError } from '../erldist/errors.ts';
import { atom, Atom, ErlMap, isAtom, Tuple, type Term } from '../erldist/terms.ts';
import { describeNodeTerm } from './erlang-term-redact.ts';

export const RELOAD_MODULE = 'erlmcp_secrets_reload';
/** where the image puts the compiled module (Dockerfile) */
export const DEFAULT_BEAM_FILE = '/usr/share/erlmcp-secrets/erlang/erlmcp_secrets_reload.beam';
export const BEAM_ENV = 'ERLMCP_SECRETS_RELOAD_BEAM';
/** the module compiles to ~20 KB; anything near this is not it */
const MAX_BEAM_BYTES = 1024 * 1024;
/** how many changed keys / peers a reply may list before the rest is counted */
const MAX_LISTED = 64;
/** per peer, for erpc:call on the target */
const PEER_TIMEOUT_MS = 5000;

export interface ApplyOptions {
  /** rendered sys.config files, as paths on the node */
  configFiles: string[];
  /** rendered dotenv files, as paths on the node: os:putenv/2 for each variable */
  envFiles: string[];
  clearPemCache: boolean;
  /** "module:function", called with #{changed => [...], files => [...]} */
  hook?: string;
}

export interface ApplyResult {
  /** "app.key" of every key whose value changed */
  changed: string[];
  /** names of the environment variables whose value changed */
  changedEnv: string[];
  pemCache: string;
  /** TLS distribution's own PEM cache (ssl_pem_cache_dist): cleared, not_running (no TLS distribution), skipped */
  distPemCache: string;
  hook: string;
}

export interface RotateResult {
  peers: Array<{ node: string; result: string }>;
}

export class BuiltinReloadError extends Error {}

/** the .beam bytes, checked to be a BEAM file of a sane size */
export function readBeamFile(file: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readBoundedSync(file, MAX_BEAM_BYTES);
  } catch (e) {
    if (!isReadRefusal(e)) throw e;
    if (e.kind === 'too-large') throw new BuiltinReloadError(`${file} is more than the ${MAX_BEAM_BYTES} bytes a compiled ${RELOAD_MODULE} can be`);
    throw new BuiltinReloadError(
      `cannot read the reload module ${file} (${e.errno ?? e.what ?? 'error'}): ` +
        `compile templates/erlang/${RELOAD_MODULE}.erl with erlc and set apply.beamFile or $${BEAM_ENV} to the .beam`,
    );
  }
  if (bytes.length < 12 || bytes.toString('latin1', 0, 4) !== 'FOR1' || bytes.toString('latin1', 8, 12) !== 'BEAM') {
    throw new BuiltinReloadError(`${file} is not a compiled Erlang module (.beam); compile templates/erlang/${RELOAD_MODULE}.erl with erlc`);
  }
  return bytes;
}

/** code:load_binary/3 on the node; erlmcp needs no change for this */
export async function loadReloadModule(client: ErlDistClient, beam: Buffer, callOpts: { timeoutMs: number; signal: AbortSignal }): Promise<void> {
  const filename = [...`${RELOAD_MODULE}.beam`].map((c) => c.charCodeAt(0));
  const r = await client.call('code', 'load_binary', [atom(RELOAD_MODULE), filename, beam], callOpts);
  if (!(r instanceof Tuple && r.elements.length === 2 && isAtom(r.elements[0], 'module') && isAtom(r.elements[1], RELOAD_MODULE))) {
    throw new BuiltinReloadError(`code:load_binary of ${RELOAD_MODULE} returned ${describeNodeTerm(r)} (an OTP older than the compiler that built the .beam answers {error,badfile})`);
  }
}

function hookTerm(hook: string): Tuple {
  const [m, f] = hook.split(':') as [string, string];
  return new Tuple([atom(m), atom(f)]);
}

export async function applyRendered(client: ErlDistClient, opts: ApplyOptions, callOpts: { timeoutMs: number; signal: AbortSignal }): Promise<ApplyResult> {
  const entries: Array<[Term, Term]> = [
    [atom('config_files'), opts.configFiles],
    [atom('env_files'), opts.envFiles],
    [atom('clear_pem_cache'), opts.clearPemCache],
  ];
  if (opts.hook !== undefined) entries.push([atom('hook'), hookTerm(opts.hook)]);
  const r = await client.call(RELOAD_MODULE, 'apply_rendered', [new ErlMap(entries)], callOpts);
  const body = okBody(r, 'apply_rendered');
  const changed = body.get(atom('changed'));
  if (!Array.isArray(changed)) throw new BuiltinReloadError(`apply_rendered answered without a list of changed keys: ${describeNodeTerm(r)}`);
  return {
    changed: listed(changed, (t) => (t instanceof Tuple && t.elements.length === 2 && t.elements.every((e) => e instanceof Atom) ? `${t.elements[0]}.${t.elements[1]}` : undefined)),
    changedEnv: listed(Array.isArray(body.get(atom('changed_env'))) ? (body.get(atom('changed_env')) as Term[]) : [], envName),
    pemCache: shortName(body.get(atom('pem_cache'))),
    distPemCache: shortName(body.get(atom('dist_pem_cache'))),
    hook: shortName(body.get(atom('hook'))),
  };
}

/**
 * erlang:set_cookie/1 on every node the target is connected to (cluster,
 * through erpc on the target) and then on the target: BIFs, so no module is
 * needed. A peer that fails is reported by name, its reason by shape.
 */
export async function rotateCookie(
  client: ErlDistClient,
  cookie: string,
  scope: 'node' | 'cluster',
  callOpts: { timeoutMs: number; signal: AbortSignal },
): Promise<RotateResult> {
  const cookieAtom = atom(cookie);
  const peers: RotateResult['peers'] = [];
  if (scope === 'cluster') {
    const nodes = await client.call('erlang', 'nodes', [], callOpts);
    if (!Array.isArray(nodes)) throw new BuiltinReloadError(`erlang:nodes() returned ${describeNodeTerm(nodes)}`);
    for (const n of nodes.slice(0, MAX_LISTED)) {
      if (!(n instanceof Atom)) continue;
      try {
        const r = await client.call('erpc', 'call', [n, atom('erlang'), atom('set_cookie'), [cookieAtom], PEER_TIMEOUT_MS], callOpts);
        peers.push({ node: n.name, result: isTrue(r) ? 'ok' : describeNodeTerm(r) });
      } catch (e) {
        if (!(isErlDistError(e) && e.kind === 'badrpc')) throw e;
        peers.push({ node: n.name, result: `failed ${describeNodeTerm(e.reason as Term)}` });
      }
    }
  }
  const r = await client.call('erlang', 'set_cookie', [cookieAtom], callOpts);
  if (!isTrue(r)) throw new BuiltinReloadError(`erlang:set_cookie/1 returned ${describeNodeTerm(r)}`);
  return { peers };
}

function isTrue(t: Term): boolean {
  return t === true || isAtom(t, 'true');
}

/** {ok, #{...}} -> the map; {error, Why} and anything else -> an error naming only shapes */
function okBody(r: Term, fn: string): ErlMap {
  if (r instanceof Tuple && r.elements.length === 2 && isAtom(r.elements[0], 'ok') && r.elements[1] instanceof ErlMap) return r.elements[1];
  if (r instanceof Tuple && r.elements.length === 2 && isAtom(r.elements[0], 'error')) {
    const why = r.elements[1];
    // {error, <<"file line N: ...">>} is our module's own message (file names and lines, no values)
    const text = why instanceof Uint8Array && why.length <= 512 ? Buffer.from(why).toString('utf8').replace(/[^\x20-\x7e]/g, '?') : describeNodeTerm(why as Term);
    throw new BuiltinReloadError(`${RELOAD_MODULE}:${fn} refused: ${text}`);
  }
  throw new BuiltinReloadError(`${RELOAD_MODULE}:${fn} returned ${describeNodeTerm(r)}`);
}

function listed(items: Term[], name: (t: Term) => string | undefined): string[] {
  const names = items.slice(0, MAX_LISTED).map((t) => name(t) ?? '?');
  if (items.length > MAX_LISTED) names.push(`(${items.length - MAX_LISTED} more)`);
  return names;
}

/** a variable name as the node sent it; only name characters pass */
function envName(t: Term): string | undefined {
  if (!(t instanceof Uint8Array) || t.length > 256) return undefined;
  const name = Buffer.from(t).toString('latin1');
  return /^[A-Za-z0-9_.-]+$/.test(name) ? name : undefined;
}

/** an atom's name, {error, Class} as "error:Class"; anything else by shape */
function shortName(t: Term | undefined): string {
  if (t === undefined) return 'missing';
  if (t instanceof Atom) return t.name;
  if (t instanceof Tuple && t.elements.length === 2 && t.elements[0] instanceof Atom && t.elements[1] instanceof Atom) {
    return `${t.elements[0].name}:${t.elements[1].name}`;
  }
  return describeNodeTerm(t);
}
