// What a Secrets Manager value looks like to templates. Pure, no SDK.
//
// - SecretString holding a JSON object (what the console's key/value editor
//   writes): each member is a key; non-string members are JSON-encoded so a
//   number 5432 renders as "5432" and a nested object as its JSON text.
// - any other SecretString (plain text, a JSON array or scalar): key `value`,
//   the string exactly as stored.
// - SecretBinary: key `value`, base64-encoded (standard alphabet, padded),
//   because templates and env vars carry text; decode it in the consumer.

export function secretStringToData(text: string): Record<string, string> {
  const obj = parseJsonObject(text);
  if (!obj) return { value: text };
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) data[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return data;
}

export function secretBinaryToData(bytes: Uint8Array): Record<string, string> {
  return { value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  // cheap pre-check: most plain secrets are not JSON, and JSON.parse of a
  // large non-JSON string would throw only after scanning it
  if (!text.trimStart().startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
