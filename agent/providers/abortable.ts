// Stop waiting for a promise when a signal fires, for clients that take no
// AbortSignal (node-vault) or a shared piece of work several callers wait on
// (one Vault login). The work itself goes on unless `cancel` stops it; its
// late result or failure is swallowed.

export interface AbortableOptions {
  /** called once when the signal fires first (e.g. a gRPC call's cancel()) */
  cancel?: () => void;
  /** what the promise rejects with on abort; default: the signal's reason */
  error?: () => unknown;
}

export function abortable<T>(p: Promise<T>, signal: AbortSignal, opts: AbortableOptions = {}): Promise<T> {
  const abortError = () => (opts.error ? opts.error() : (signal.reason ?? new Error('aborted')));
  if (signal.aborted) {
    opts.cancel?.();
    p.catch(() => {});
    return Promise.reject(abortError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      opts.cancel?.();
      p.catch(() => {});
      reject(abortError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
