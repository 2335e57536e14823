// Problems -> report lines and the one error that stops `init`. A key that is
// not there at all is `missing`; anything else is `validation`. Both exit 3.

import { AgentError } from '../errors.ts';
import type { Problem } from './problem.ts';

/** report lines, one per problem, sorted by secret and key, duplicates dropped */
export function formatProblems(problems: Problem[]): string[] {
  const sorted = [...problems].sort((a, b) => compare(a.secret, b.secret) || compare(a.key, b.key));
  return [...new Set(sorted.map((p) => p.message))];
}

export function problemsError(problems: Problem[]): AgentError | undefined {
  if (problems.length === 0) return undefined;
  const lines = formatProblems(problems);
  const onlyMissing = problems.every((p) => p.rule === 'present');
  const secrets = [...new Set(problems.map((p) => p.secret))].sort();
  const summary = lines.length === 1
    ? lines[0]!
    : `${lines.length} problems in ${secrets.map((s) => `"${s}"`).join(', ')}: ${lines.join('; ')}`;
  return new AgentError(onlyMissing ? 'missing' : 'validation', summary, { where: secrets.join(', '), problems: lines });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
