// How a failed command tells the operator what went wrong: in JSON, one log
// line per problem (for log search) and a closing line with the exit code and
// every problem; in text, one block: the closing line with each problem once
// under it. In Kubernetes also the termination message that `kubectl describe
// pod` shows.

import { writeFileSync, existsSync } from 'node:fs';
import type { AgentError } from '../errors.ts';
import { logFormatOf, type Logger } from '../log/logger.ts';
import { scrub } from '../log/secret-registry.ts';
import { exitCodeFor } from './exit-codes.ts';

const TERMINATION_LOG = '/dev/termination-log';

export function reportFailure(command: string, err: AgentError, logger: Logger, env: NodeJS.ProcessEnv = process.env): number {
  const exitCode = exitCodeFor(err.code);
  if (logFormatOf(logger) === 'text') {
    const n = err.problems.length;
    logger.fatal({ code: err.code, problems: err.problems }, `${command} failed (exit ${exitCode}): ${n === 1 ? '1 problem' : `${n} problems`}`);
  } else {
    for (const p of err.problems) logger.error({ code: err.code }, p);
    logger.fatal({ code: err.code, exitCode, problems: err.problems }, `${command} failed: ${summary(err)}`);
  }
  writeTerminationMessage(`erlmcp-secrets ${command} failed (exit ${exitCode}):\n${err.problems.map((p) => `- ${p}`).join('\n')}\n`, env);
  return exitCode;
}

function summary(err: AgentError): string {
  const n = err.problems.length;
  return n === 1 ? err.problems[0]! : `${n} problems`;
}

function writeTerminationMessage(text: string, env: NodeJS.ProcessEnv): void {
  const file = env.ERLMCP_SECRETS_TERMINATION_LOG ?? (existsSync(TERMINATION_LOG) ? TERMINATION_LOG : undefined);
  if (!file) return;
  try {
    // Kubernetes keeps at most 4096 bytes of it.
    writeFileSync(file, scrub(text).slice(0, 4096));
  } catch {
    /* not in a pod, or not writable: the log lines above carry the same */
  }
}
