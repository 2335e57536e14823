// Config-time checks of `reload: [{type: erlang}]` entries that need more than
// the schema: where the cookie comes from, and whether the calls and `expect`
// parse (the same parser the notifier uses, so `check` catches what would
// otherwise fail at the first reload, hours later).

import type { ReloadConfig } from '../config/reload-schema.ts';
import { parseErlangCall, parseErlangTerm } from '../erldist/call-parser.ts';
import { isErlDistError } from '../erldist/errors.ts';

type ErlangReloadConfig = Extract<ReloadConfig, { type: 'erlang' }>;

/** what the checks need to know about declared secrets */
export interface DeclaredSecret {
  require: Record<string, unknown>;
  /** false: the secret may hold any key, so `cookieSecret` cannot be checked further */
  requireDeclared: boolean;
}

/** the configured calls; none means the built-in reload (erlang-builtin.ts) */
export function erlangCalls(cfg: Pick<ErlangReloadConfig, 'call'>): string[] {
  return cfg.call === undefined ? [] : typeof cfg.call === 'string' ? [cfg.call] : cfg.call;
}

/** "cookie.value" -> { secret: "cookie", key: "value" }; the key may itself contain dots */
export function splitCookieSecret(ref: string): { secret: string; key: string } | undefined {
  const dot = ref.indexOf('.');
  if (dot <= 0 || dot === ref.length - 1) return undefined;
  return { secret: ref.slice(0, dot), key: ref.slice(dot + 1) };
}

function parseProblem(e: unknown): string {
  return isErlDistError(e) ? e.message : String(e);
}

export function erlangReloadProblems(cfg: ErlangReloadConfig, where: string, secrets: Readonly<Record<string, DeclaredSecret>>): string[] {
  const out: string[] = [];
  const sources = (cfg.cookieFile !== undefined ? 1 : 0) + (cfg.cookieSecret !== undefined ? 1 : 0);
  if (sources !== 1) {
    out.push(
      `${where}: give exactly one of cookieFile (a file holding the node's cookie, e.g. one a template renders) ` +
        `or cookieSecret ("secret.key" naming the cookie in secrets:)${sources === 2 ? '; both are set' : ''}`,
    );
  }
  if (cfg.cookieSecret !== undefined) {
    const ref = splitCookieSecret(cfg.cookieSecret);
    const declared = ref && Object.hasOwn(secrets, ref.secret) ? secrets[ref.secret] : undefined;
    if (!ref) out.push(`${where}.cookieSecret: "${cfg.cookieSecret}" must look like secret.key (e.g. cookie.value)`);
    else if (!declared) {
      const known = Object.keys(secrets);
      out.push(`${where}.cookieSecret: no secret "${ref.secret}" is declared (known: ${known.length ? known.join(', ') : 'none'})`);
    } else if (declared.requireDeclared && !Object.hasOwn(declared.require, ref.key)) {
      out.push(`${where}.cookieSecret: secret "${ref.secret}" declares no key "${ref.key}" under require (declared: ${Object.keys(declared.require).join(', ') || 'none'})`);
    }
  }
  erlangCalls(cfg).forEach((call, i) => {
    try {
      parseErlangCall(call);
    } catch (e) {
      out.push(`${where}.call${typeof cfg.call === 'string' ? '' : `[${i}]`}: ${parseProblem(e)}`);
    }
  });
  if (cfg.call !== undefined && cfg.apply !== undefined) {
    out.push(`${where}: apply configures the built-in reload, which runs only without call; drop one of them`);
  }
  if (cfg.call === undefined && cfg.expect !== undefined) {
    out.push(`${where}.expect: compares the result of call; the built-in reload (no call) checks its own result`);
  }
  if (cfg.expect !== undefined) {
    try {
      parseErlangTerm(cfg.expect);
    } catch (e) {
      out.push(`${where}.expect: ${parseProblem(e).replace('the Erlang call', 'the Erlang term')}`);
    }
  }
  return out;
}

/** every erlang entry of `reload:` */
export function reloadProblems(list: readonly ReloadConfig[], secrets: Readonly<Record<string, DeclaredSecret>>): string[] {
  return list.flatMap((r, i) => (r.type === 'erlang' ? erlangReloadProblems(r, `reload[${i}]`, secrets) : []));
}

/** `check` warnings: configurations that work but are probably not what was meant */
export function erlangReloadWarnings(list: readonly ReloadConfig[]): string[] {
  const out: string[] = [];
  const byNode = new Map<string, number>();
  list.forEach((r, i) => {
    if (r.type !== 'erlang') return;
    const where = `reload[${i}]`;
    if (r.call === undefined && (r.apply?.configFiles.length ?? 0) === 0 && (r.apply?.envFiles.length ?? 0) === 0) {
      out.push(`${where}: the built-in reload has no apply.configFiles or apply.envFiles: it will only clear the PEM caches${r.apply?.hook ? ' and call the hook' : ''}, which is enough when only certificate files change; otherwise list the rendered files as the node sees them`);
    }
    if (r.expect === undefined && r.call !== undefined) {
      out.push(`${where}: no expect: any result counts as success, {error, Reason} included; set e.g. expect: ok`);
    }
    const first = byNode.get(r.node);
    if (first !== undefined) {
      out.push(`${where}: reload[${first}] already calls ${r.node}; put both calls in one entry's call: list so they share one connection`);
    } else byNode.set(r.node, i);
  });
  return out;
}
