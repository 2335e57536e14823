// Bounds on one template, checked before and right after tokenizing, so a
// hostile or runaway template (pod annotations reach the parser through the
// webhook) costs bounded memory and time and gets a clear template error.
//
// The figures are far above any real template (erlmcp's sys.config template
// is a few KiB, with tens of tags and sections one or two deep) and low
// enough that Mustache's token tree stays a few MiB.

import { AgentError } from '../errors.ts';
import type { Token } from './sections.ts';

/** 256 KiB, the most Kubernetes lets all annotations of a pod hold together */
export const MAX_TEMPLATE_BYTES = 256 * 1024;
export const MAX_TEMPLATE_TAGS = 10_000;
/** one erl.* section around a few helper sections is the deepest a value needs */
export const MAX_SECTION_DEPTH = 8;

export function checkTemplateBytes(text: string, label: string): void {
  // UTF-8 is at most 3 bytes per UTF-16 unit: skip the count for short text
  if (text.length * 3 <= MAX_TEMPLATE_BYTES) return;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= MAX_TEMPLATE_BYTES) return;
  throw limitError(
    label,
    `the template is ${bytes} bytes, more than the ${MAX_TEMPLATE_BYTES} bytes (256 KiB) a template may have; split it into several templates, or keep large content in a secret and write it with one tag`,
  );
}

/** Counts tags and section depth without recursion (Mustache's tree may be thousands deep). */
export function checkTemplateShape(tokens: readonly Token[], label: string, lineAt: (offset: number) => number): void {
  let tags = 0;
  const stack: Array<[list: readonly Token[], depth: number]> = [[tokens, 0]];
  while (stack.length > 0) {
    const [list, depth] = stack.pop()!;
    for (const token of list) {
      if (token[0] === 'text') continue;
      tags++;
      if (tags > MAX_TEMPLATE_TAGS) {
        throw limitError(label, `the template has more than ${MAX_TEMPLATE_TAGS} tags; split it into several templates`);
      }
      const children = token[4];
      if (!Array.isArray(children)) continue;
      if (depth + 1 > MAX_SECTION_DEPTH) {
        throw limitError(
          label,
          `sections nest more than ${MAX_SECTION_DEPTH} deep at line ${lineAt(token[2])}; a value needs at most one erl.* section around a few helper sections (see docs/templates.md)`,
        );
      }
      stack.push([children as Token[], depth + 1]);
    }
  }
}

function limitError(label: string, what: string): AgentError {
  const message = `${label}: ${what}`;
  return new AgentError('template', message, { where: label });
}
