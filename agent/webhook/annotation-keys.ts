// The secrets.erlmcp.io/ annotation vocabulary and the classification of one
// key: a single setting, a per-name setting (secret-db, template-erlmcp.env),
// or unknown (with the nearest known key, for the denial message).

import { closest } from './did-you-mean.ts';

export const PREFIX = 'secrets.erlmcp.io/';

/** keys that take one value for the whole pod */
export const SINGLE_KEYS = [
  'inject',
  'status',
  'config',
  'mode',
  'reload',
  'reload-erlang-node',
  'reload-erlang-cookie',
  'reload-erlang-port',
  'reload-erlang-tls-ca-file',
  'reload-erlang-tls-cert-file',
  'reload-erlang-tls-key-file',
  'role',
  'vault-address',
  'vault-namespace',
  'auth-path',
  'vault-jwt-audience',
  'vault-ca-file',
  'vault-tls-secret',
  'aws-region',
  'azure-vault-url',
  'gcp-project',
  'image',
  'containers',
  'exec-command',
  'volume-mount-path',
  'volume-size',
  'pre-populate-only',
  'run-as-user',
  'run-as-group',
  'cpu-request',
  'cpu-limit',
  'memory-request',
  'memory-limit',
  'init-timeout',
  'refresh-interval',
  'log-level',
  'quit',
  'port',
] as const;
export type SingleKey = (typeof SINGLE_KEYS)[number];

/** families of keys that carry a name after the dash */
export const NAMED_FAMILIES = ['secret', 'require', 'template', 'escape', 'mode', 'env'] as const;
export type NamedFamily = (typeof NAMED_FAMILIES)[number];

export type KeyClass =
  | { kind: 'single'; key: SingleKey }
  | { kind: 'named'; family: NamedFamily; name: string }
  | { kind: 'unknown'; suggestion?: string };

const singles = new Set<string>(SINGLE_KEYS);

export function classifyKey(local: string): KeyClass {
  if (singles.has(local)) return { kind: 'single', key: local as SingleKey };
  for (const family of NAMED_FAMILIES) {
    if (local.startsWith(`${family}-`)) return { kind: 'named', family, name: local.slice(family.length + 1) };
  }
  const suggestion = suggest(local);
  return suggestion === undefined ? { kind: 'unknown' } : { kind: 'unknown', suggestion };
}

function suggest(local: string): string | undefined {
  const single = closest(local, SINGLE_KEYS);
  if (single !== undefined) return single;
  const dash = local.indexOf('-');
  if (dash <= 0) return undefined;
  // "secrte-db": judge the family part alone, so a long name after the dash
  // neither hides the typo nor makes any key look close
  const fam = closest(local.slice(0, dash), NAMED_FAMILIES);
  return fam === undefined ? undefined : `${fam}-${local.slice(dash + 1)}`;
}

/** the full annotation key for messages */
export function key(local: string): string {
  return `${PREFIX}${local}`;
}

/** RFC 6901: "~" -> "~0", "/" -> "~1", so an annotation key fits in a JSON Pointer */
export function pointerSegment(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}
