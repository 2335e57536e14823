// The AgentError a synchronous call throws, and a table check for template
// texts that parseTemplate must reject with a given reason.

import type { Test } from 'tap';
import { AgentError } from '../../agent/errors.ts';
import { parseTemplate } from '../../agent/render/index.ts';

export function agentErrorOf(f: () => unknown): AgentError {
  try {
    f();
  } catch (e) {
    if (e instanceof AgentError) return e;
    throw e;
  }
  throw new Error('expected an AgentError');
}

/** each [template text, part of the message]: a 'template' error whose message holds the reason */
export function assertTemplateRejections(t: Test, cases: ReadonlyArray<[string, string]>, label: string): void {
  for (const [text, reason] of cases) {
    const err = agentErrorOf(() => parseTemplate(text, label));
    t.equal(err.code, 'template', text);
    t.match(err.message, reason, text);
  }
}
