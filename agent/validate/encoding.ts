// base64 and hex values, and the length of what they decode to (bytes /
// minBytes). Both alphabets of base64 are accepted, standard (+/) and
// URL-safe (-_), but not mixed in one value; padding is optional, and when
// present it must complete the last 4-character group. Whitespace and line
// breaks are rejected: the value is handed to the application byte for byte,
// and a wrapped or newline-terminated key is a classic source of "works on
// my machine". Decoded lengths are computed, never decoded into memory.

import type { Rule } from '../config/rules-schema.ts';
import { finding, type Finding } from './problem.ts';

const STANDARD = /^[A-Za-z0-9+/]*$/;
const URL_SAFE = /^[A-Za-z0-9_-]*$/;
const HEX = /^[0-9A-Fa-f]*$/;

export function checkBase64(value: string, rule: Rule): Finding[] {
  if (/\s/u.test(value)) return [finding('format', 'not base64 (contains whitespace or a line break)')];
  const firstPad = value.indexOf('=');
  const body = firstPad === -1 ? value : value.slice(0, firstPad);
  const padding = firstPad === -1 ? '' : value.slice(firstPad);
  const standard = STANDARD.test(body);
  const urlSafe = URL_SAFE.test(body);
  if (!standard && !urlSafe) {
    const mixed = /^[A-Za-z0-9+/_-]*$/.test(body);
    return [finding('format', mixed
      ? 'not base64 (mixes the standard "+/" and URL-safe "-_" alphabets)'
      : 'not base64 (contains characters outside the base64 alphabet)')];
  }
  if (!/^={0,2}$/.test(padding) || (padding !== '' && value.length % 4 !== 0)) {
    return [finding('format', 'not base64 ("=" padding is misplaced or does not complete the last group of 4)')];
  }
  // 4k+1 characters cannot encode whole bytes, padded or not
  if (body.length % 4 === 1) return [finding('format', 'not base64 (its length cannot be a base64 encoding)')];
  const decoded = Math.floor((body.length * 3) / 4);
  return checkDecodedLength(decoded, rule);
}

export function checkHex(value: string, rule: Rule): Finding[] {
  if (!HEX.test(value)) return [finding('format', 'not hex (contains characters other than 0-9, a-f, A-F)')];
  if (value.length % 2 !== 0) return [finding('format', 'not hex (odd number of digits)')];
  return checkDecodedLength(value.length / 2, rule);
}

function checkDecodedLength(decodedBytes: number, rule: Rule): Finding[] {
  const found: Finding[] = [];
  if (rule.bytes !== undefined && decodedBytes !== rule.bytes) {
    const relation = decodedBytes < rule.bytes ? 'fewer' : 'more';
    found.push(finding('bytes', `decodes to ${relation} bytes than the required ${rule.bytes}`));
  }
  if (rule.minBytes !== undefined && decodedBytes < rule.minBytes) {
    found.push(finding('minBytes', `decodes to fewer than ${rule.minBytes} bytes`));
  }
  return found;
}
