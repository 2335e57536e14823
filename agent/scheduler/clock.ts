// The agent's only source of time. Everything that waits or asks "what time is
// it" takes a Clock, so tests drive time with ManualClock instead of sleeping.
//
//   interface Clock { now(); setTimeout(cb, ms); clearTimeout(handle); sleep(ms, signal?) }
//   realClock      — Date.now + node timers (ref'd: a sidecar with only pending
//                    checks must stay alive; stop() clears them on shutdown)
//   ManualClock    — manual-clock.ts, for tests

export type TimerHandle = { readonly id: number };

export interface Clock {
  /** epoch milliseconds */
  now(): number;
  /** run cb once, ms from now (ms <= 0: on the next turn) */
  setTimeout(cb: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** resolves after ms; rejects with signal.reason when aborted first */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** sleep implemented on top of any clock's timers, shared by both clocks */
export function sleepOn(clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

// node's timers take at most 2^31-1 ms; longer waits are chained
const MAX_NODE_DELAY = 2_147_483_647;

export function createRealClock(): Clock {
  let nextId = 1;
  const live = new Map<number, NodeJS.Timeout>();
  const clock: Clock = {
    now: () => Date.now(),
    setTimeout(cb, ms) {
      const id = nextId++;
      const due = Date.now() + Math.max(0, ms);
      const arm = (): void => {
        const left = due - Date.now();
        const t =
          left > MAX_NODE_DELAY
            ? globalThis.setTimeout(arm, MAX_NODE_DELAY)
            : globalThis.setTimeout(() => {
                live.delete(id);
                cb();
              }, Math.max(0, left));
        live.set(id, t);
      };
      arm();
      return { id };
    },
    clearTimeout(handle) {
      const t = live.get(handle.id);
      if (t) globalThis.clearTimeout(t);
      live.delete(handle.id);
    },
    sleep: (ms, signal) => sleepOn(clock, ms, signal),
  };
  return clock;
}

export const realClock: Clock = createRealClock();
