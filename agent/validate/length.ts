// minLength / maxLength count Unicode code points, not UTF-16 units or bytes:
// "pässwörd🔑" is 9 characters, as a person counting them would say. The
// message never states the actual length.

import type { Rule } from '../config/rules-schema.ts';
import { finding, type Finding } from './problem.ts';

export function codePointLength(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

export function checkLength(value: string, rule: Rule): Finding[] {
  if (rule.minLength === undefined && rule.maxLength === undefined) return [];
  const length = codePointLength(value);
  const found: Finding[] = [];
  if (rule.minLength !== undefined && length < rule.minLength) {
    found.push(finding('minLength', `shorter than ${plural(rule.minLength, 'character')}`));
  }
  if (rule.maxLength !== undefined && length > rule.maxLength) {
    found.push(finding('maxLength', `longer than ${plural(rule.maxLength, 'character')}`));
  }
  return found;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
