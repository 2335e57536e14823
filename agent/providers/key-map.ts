// How a backend's structured value becomes the key map templates see, the
// same for every backend: string members stay as they are, anything else is
// JSON text (a port 5432 renders as "5432", a nested object as its JSON).
// Pure; bundled into each provider chunk that uses it.

export function toKeyMap(obj: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}

/** the object in `text`, or undefined when the text is not a JSON object */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
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
