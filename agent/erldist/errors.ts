// The Erlang distribution client stands alone (it does not import the rest of
// the agent), so it carries its own error type. `kind` says what went wrong in
// terms a caller can map to an exit code or retry policy; the message is for
// the operator and never contains the cookie.

export type ErlDistErrorKind =
  | 'usage' // a bad argument from our caller (call string, node name, options)
  | 'unreachable' // TCP/TLS connect failed, EPMD unreachable
  | 'not_found' // EPMD does not know the node
  | 'cookie' // the node rejected our cookie, or proved it does not know it
  | 'handshake' // the node refused the handshake for another reason
  | 'timeout' // connect, handshake or call took too long
  | 'closed' // the connection went away (before or during a call)
  | 'badrpc' // the call ran and failed on the node ({badrpc, Reason})
  | 'protocol' // the peer sent something we cannot understand
  | 'encode' // a term we were asked to send cannot be encoded
  | 'decode' // bytes that are not valid external term format
  | 'limit'; // the peer sent more than we accept (size, count, depth; see limits.ts)

export class ErlDistError extends Error {
  readonly kind: ErlDistErrorKind;
  /** for `badrpc`: the Reason of `{badrpc, Reason}`, as a decoded term */
  readonly reason: unknown;

  constructor(kind: ErlDistErrorKind, message: string, options: { cause?: unknown; reason?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ErlDistError';
    this.kind = kind;
    this.reason = options.reason;
  }
}

export function isErlDistError(e: unknown): e is ErlDistError {
  return e instanceof ErlDistError;
}
