// A Secret Manager payload as templates see it. Pure.
// - json: true: a JSON object payload becomes its key map (non-strings
//   JSON-encoded); anything else is an error, so a typo in the secret fails
//   loudly instead of rendering the raw text.
// - otherwise key `value`: the payload as UTF-8 text (invalid UTF-8 is an
//   error that points at encoding: base64), or base64 with encoding: base64.

import { parseJsonObject, toKeyMap } from '../key-map.ts';

export type PayloadProblem = 'not-utf8' | 'not-json-object';

export type PayloadResult = { ok: true; data: Record<string, string> } | { ok: false; problem: PayloadProblem };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function payloadToData(bytes: Uint8Array, opts: { json?: boolean; encoding?: 'utf8' | 'base64' }): PayloadResult {
  if (opts.encoding === 'base64' && !opts.json) return { ok: true, data: { value: Buffer.from(bytes).toString('base64') } };
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, problem: 'not-utf8' };
  }
  if (!opts.json) return { ok: true, data: { value: text } };
  const obj = parseJsonObject(text);
  return obj ? { ok: true, data: toKeyMap(obj) } : { ok: false, problem: 'not-json-object' };
}
