// One error type for the whole agent. The CLI maps `code` to the contract's
// exit codes in one place (cli/exit-codes.ts); messages are written for the
// operator and never carry a secret value.

export type ErrorCode =
  | 'usage' // bad command line
  | 'config' // config file unreadable or invalid
  | 'template' // template unreadable, unparsable, or names an unknown secret/key
  | 'missing' // a secret or a required key does not exist in the backend
  | 'validation' // a value breaks its rule
  | 'unavailable' // backend unreachable, sealed, rate limited, 5xx: retryable
  | 'auth' // backend refused our identity or lacks permission: permanent
  | 'timeout' // init.timeout ran out
  | 'internal'; // a bug: should never happen

export interface AgentErrorInit {
  /** where the problem is: a config path (`secrets.db.provider`), a secret name, a file */
  where?: string;
  /** a transient failure that a retry may fix (only meaningful for `unavailable`) */
  retryable?: boolean;
  /** every individual problem, when one error reports many (config, validation) */
  problems?: string[];
  /** the backend that failed, for `unavailable`/`auth` */
  provider?: string;
  /** the backend asked us to wait this long before trying again (Retry-After) */
  retryAfterMs?: number;
  /** the backend refused because we ask too often (HTTP 429, ThrottlingException,
   * RESOURCE_EXHAUSTED): asking again sooner than planned makes it worse */
  throttled?: boolean;
  cause?: unknown;
}

export class AgentError extends Error {
  readonly code: ErrorCode;
  readonly where: string | undefined;
  readonly retryable: boolean;
  readonly problems: string[];
  readonly provider: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly throttled: boolean;

  constructor(code: ErrorCode, message: string, init: AgentErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'AgentError';
    this.code = code;
    this.where = init.where;
    this.retryable = init.retryable ?? code === 'unavailable';
    this.problems = init.problems ?? [message];
    this.provider = init.provider;
    this.retryAfterMs = init.retryAfterMs;
    this.throttled = init.throttled ?? false;
  }
}

export function isAgentError(e: unknown): e is AgentError {
  return e instanceof AgentError;
}

/** Wraps anything thrown into an AgentError without copying its message blindly:
 * foreign messages may echo request bodies, so only our own errors keep theirs. */
export function asAgentError(e: unknown, context: string): AgentError {
  if (isAgentError(e)) return e;
  const kind = e instanceof Error ? e.name : typeof e;
  return new AgentError('internal', `${context}: unexpected ${kind}; this is a bug, please report it with the log lines above`, { cause: e });
}
