// Hostile answers: what a broken or malicious Vault (or whatever answers in
// its place) could send in an otherwise well-formed 2xx body. JSON.stringify
// cannot write most of them (1e999, a value nested 200k deep would overflow
// its own stack), so members are swapped for placeholders while serialising
// and the raw text is put in afterwards.
//
//   vault.setHostile({ paths: /^database\/creds\//, fields: { lease_duration: '0' } })
//   vault.setHostile({ deepNesting: 200_000 })
//   vault.setHostile(undefined)                 // back to honest answers

/** the numeric (and boolean) members of Vault's answers that the agent plans on */
export type HostileField = 'lease_duration' | 'renewable' | 'ttl' | 'creation_ttl' | 'explicit_max_ttl' | 'version' | 'current_version';

export interface HostileAnswers {
  /** only 2xx answers to API paths (without /v1/) matching this are rewritten; default every one */
  paths?: RegExp;
  /** raw JSON text put in place of each of these members, at any depth:
   * '0', '-5', '1.5', '1e30', '1e999', '"3600"', 'null', '[]', '{}' */
  fields?: Partial<Record<HostileField, string>>;
  /** add a member `deep` to every `data` object: a list nested this many levels */
  deepNesting?: number;
}

const placeholder = (name: string): string => `\u0000hostile:${name}\u0000`;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function appliesTo(h: HostileAnswers, apiPath: string): boolean {
  return h.paths === undefined || h.paths.test(apiPath);
}

/** the body as JSON text with the hostile members in it */
export function hostileText(body: unknown, h: HostileAnswers): string {
  const fields = h.fields ?? {};
  const text = JSON.stringify(body, (key: string, value: unknown) => {
    if (Object.hasOwn(fields, key)) return placeholder(key);
    if (key === 'data' && h.deepNesting !== undefined && isPlainObject(value)) return { ...value, deep: placeholder('deep') };
    return value;
  });
  let out = text;
  for (const [key, raw] of Object.entries(fields)) out = out.replaceAll(JSON.stringify(placeholder(key)), raw);
  if (h.deepNesting !== undefined) out = out.replaceAll(JSON.stringify(placeholder('deep')), '['.repeat(h.deepNesting) + ']'.repeat(h.deepNesting));
  return out;
}
