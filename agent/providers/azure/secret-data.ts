// A Key Vault secret as templates see it. Pure.
// - contentType application/json (any parameters, any case) or json: true
//   in the spec: a JSON object value becomes its key map (non-strings
//   JSON-encoded); a value that is not a JSON object is an error then.
// - otherwise key `value`, the string as stored (binary material such as a
//   PFX is stored base64 by Key Vault and stays so).

import { parseJsonObject, toKeyMap } from '../key-map.ts';

export type ValueResult = { ok: true; data: Record<string, string> } | { ok: false; problem: 'not-json-object' };

export function isJsonContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && /^\s*application\/json\s*(;|$)/i.test(contentType);
}

export function secretValueToData(value: string, opts: { contentType?: string | undefined; json?: boolean | undefined }): ValueResult {
  if (!opts.json && !isJsonContentType(opts.contentType)) return { ok: true, data: { value } };
  const obj = parseJsonObject(value);
  return obj ? { ok: true, data: toKeyMap(obj) } : { ok: false, problem: 'not-json-object' };
}

/** https://v.vault.azure.net/secrets/NAME/VERSION -> VERSION */
export function versionFromId(id: string | undefined): string | undefined {
  if (!id) return undefined;
  const m = /\/secrets\/[^/]+\/([^/?#]+)\/?(?:[?#].*)?$/.exec(id);
  return m?.[1];
}
