// Parsers for single annotation values. Each returns the value or a problem
// phrased to follow "<annotation key>: "; none echoes long user text.

import { parseDuration } from '../config/duration.ts';
import { quantityProblem, type QuantityBounds } from './quantity.ts';

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(problem: string): Parsed<T> => ({ ok: false, problem });

/** short, printable excerpt of a user value for messages */
export function shown(value: string): string {
  const oneLine = value.replace(/[\r\n\t]+/g, ' ');
  return JSON.stringify(oneLine.length > 40 ? `${oneLine.slice(0, 37)}...` : oneLine);
}

export function parseBool(value: string): Parsed<boolean> {
  if (value === 'true') return ok(true);
  if (value === 'false') return ok(false);
  return bad(`must be "true" or "false", got ${shown(value)}`);
}

export function parseUid(value: string, what: string): Parsed<number> {
  if (!/^\d{1,10}$/.test(value)) return bad(`must be a ${what} number, got ${shown(value)}`);
  const n = Number(value);
  if (n > 2147483647) return bad(`${value} is larger than the largest ${what} (2147483647)`);
  return ok(n);
}

export function parseQuantity(value: string, bounds: QuantityBounds): Parsed<string> {
  const problem = quantityProblem(value, bounds);
  return problem === undefined ? ok(value) : bad(problem);
}

export function parseFileMode(value: string): Parsed<string> {
  if (!/^0?[0-7]{3}$/.test(value)) return bad(`must be an octal file mode like "0400" or "0440", got ${shown(value)}`);
  const mode = parseInt(value, 8);
  if (mode & 0o222) return bad(`${value} makes the file writable; secrets files are read-only (use e.g. "0400" or "0440")`);
  return ok(value.length === 3 ? `0${value}` : value);
}

export function parseDurationValue(value: string): Parsed<string> {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) return bad(`must be a duration like "30s", "5m" or "1h", got ${shown(value)}`);
  return ok(value);
}

export function parsePort(value: string): Parsed<number> {
  if (!/^\d{1,5}$/.test(value)) return bad(`must be a port number, got ${shown(value)}`);
  const n = Number(value);
  if (n < 1 || n > 65535) return bad(`must be between 1 and 65535, got ${value}`);
  return ok(n);
}

export function parseAbsolutePath(value: string): Parsed<string> {
  if (!value.startsWith('/')) return bad(`must be an absolute path, got ${shown(value)}`);
  if (value.split('/').some((seg) => seg === '..' || seg === '.')) return bad('must not contain "." or ".." segments');
  if (/[\0\n\r]/.test(value)) return bad('must not contain NUL or line breaks');
  if (value === '/') return bad('must not be "/"');
  return ok(value.length > 1 ? value.replace(/\/+$/, '') : value);
}

/** "a, b,c" -> ["a","b","c"]; empty items are an error */
export function parseList(value: string): Parsed<string[]> {
  const items = value.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) return bad(`must be a comma-separated list without empty items, got ${shown(value)}`);
  return ok(items);
}

/** a command line as a JSON array of strings: ["/opt/erlmcp/bin/erlmcp", "foreground"] */
export function parseCommand(value: string): Parsed<string[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return bad('must be a JSON array of strings, e.g. ["/opt/erlmcp/bin/erlmcp", "foreground"]');
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((a) => typeof a === 'string')) {
    return bad('must be a non-empty JSON array of strings, e.g. ["/opt/erlmcp/bin/erlmcp", "foreground"]');
  }
  if ((parsed[0] as string) === '') return bad('the program (first element) must not be empty');
  return ok(parsed as string[]);
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function parseSecretObjectName(value: string): Parsed<string> {
  return value.length <= 253 && DNS_SUBDOMAIN.test(value) ? ok(value) : bad(`must be the name of a Kubernetes Secret in the pod's namespace, got ${shown(value)}`);
}

export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && DNS_LABEL.test(s);
}
