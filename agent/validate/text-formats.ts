// url and json: values that must parse. Parser messages are never passed on,
// because they quote the input.

import { finding, type Finding } from './problem.ts';

/**
 * A WHATWG URL in its hierarchical form, scheme://... . WHATWG alone would
 * read "db.internal:5432" as scheme "db.internal", the very mistake this rule
 * is there to catch, so the scheme must be followed by "//".
 */
export function checkUrl(value: string): Finding[] {
  const hierarchical = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value);
  return hierarchical && URL.canParse(value) ? [] : [finding('format', 'not a URL (it needs a scheme, like https://host/path)')];
}

export function checkJson(value: string): Finding[] {
  try {
    JSON.parse(value);
    return [];
  } catch {
    return [finding('format', 'not valid JSON')];
  }
}
