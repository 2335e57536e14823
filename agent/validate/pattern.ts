// `pattern` is a JavaScript RegExp compiled with the 'u' flag and, like JSON
// Schema's `pattern` and most validators, it is NOT implicitly anchored: it
// matches anywhere in the value unless it anchors itself with ^...$. The
// message quotes the pattern (config, not secret) and never what matched.

import type { Rule } from '../config/rules-schema.ts';
import { finding, type Finding } from './problem.ts';

export function checkPattern(value: string, rule: Rule): Finding[] {
  if (rule.pattern === undefined) return [];
  // compiled per call: the config schema already proved it compiles, and a
  // fresh RegExp carries no lastIndex state between secrets
  const re = new RegExp(rule.pattern, 'u');
  return re.test(value) ? [] : [finding('pattern', `does not match the pattern ${rule.pattern}`)];
}
