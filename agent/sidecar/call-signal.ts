// One provider call's abort signal: aborted when the agent stops or after
// CALL_TIMEOUT_MS, released as soon as the call ends.
//
// Built by hand rather than AbortSignal.any over AbortSignal.timeout: that one
// stays alive (timer and listener on the long-lived stop signal) for the full
// timeout after every call, measured at ~0.5 kB of heap per check held for
// 30 s (bench/sidecar.ts).

import { AgentError } from '../errors.ts';
import { abortable } from '../providers/abortable.ts';

/** one provider call may take this long before it counts as failed */
export const CALL_TIMEOUT_MS = 30_000;

export async function withCallSignal<T>(stop: AbortSignal, fn: (signal: AbortSignal) => Promise<T>, timeoutMs = CALL_TIMEOUT_MS): Promise<T> {
  const ac = new AbortController();
  const onStop = (): void => ac.abort(stop.reason);
  stop.addEventListener('abort', onStop, { once: true });
  const timer = setTimeout(() => ac.abort(new AgentError('timeout', `a backend call took longer than ${timeoutMs / 1000}s`)), timeoutMs);
  timer.unref();
  try {
    // abortable: a call that ignores its signal (a read on a hung mount
    // cannot be aborted) still ends at the timeout, so its flow ticket is
    // released and the backend's other checks are not held behind it for good
    return await abortable(fn(ac.signal), ac.signal);
  } finally {
    clearTimeout(timer);
    stop.removeEventListener('abort', onStop);
  }
}
