// url and json: values that must parse. Parser messages are never passed on,
// because they quote the input.

import { finding, type Finding } from './problem.ts';

/**
 * A WHATWG URL in its hierarchical form, scheme://... . WHATWG alone would
 * read "db.internal:5432" as scheme "db.internal", the very mistake this rule
 * is there to catch, so the scheme must be followed by "//".
 */
export function checkUrl(value: string): Finding[] {
  // WHATWG parsing drops leading and trailing spaces and control characters
  // and removes tabs and line breaks anywhere, so "https://host\n" would pass
  // and the application would get the newline: the rule looks at the bytes
  // as they will be rendered.
  if (/[\u0000-\u0020\u007f-\u009f\u2028\u2029]/u.test(value)) {
    return [finding('format', 'not a URL (contains whitespace or a control character, such as a trailing newline)')];
  }
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
