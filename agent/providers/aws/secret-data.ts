// What a Secrets Manager value looks like to templates. Pure, no SDK.
//
// - SecretString holding a JSON object (what the console's key/value editor
//   writes): each member is a key; non-string members are JSON-encoded so a
//   number 5432 renders as "5432" and a nested object as its JSON text.
// - any other SecretString (plain text, a JSON array or scalar): key `value`,
//   the string exactly as stored.
// - SecretBinary: key `value`, base64-encoded (standard alphabet, padded),
//   because templates and env vars carry text; decode it in the consumer.

import { parseJsonObject, toKeyMap } from '../key-map.ts';

export function secretStringToData(text: string): Record<string, string> {
  const obj = parseJsonObject(text);
  return obj ? toKeyMap(obj) : { value: text };
}

export function secretBinaryToData(bytes: Uint8Array): Record<string, string> {
  return { value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
}
