// What every reload notifier is: something that, after a batch of changes has
// been written, tells the application to pick the new files up.
//
//   interface Notifier { kind; timeoutMs; describe(); notify(change, signal) -> Outcome }
//
// Kinds: signal.ts, exec.ts, http.ts, and `erlang` (distribution call, built
// on agent/erldist/ and plugged in through createNotifier's deps: factory.ts).
// Outcome.detail is for logs and metrics: it names what was done and how it
// ended, never a secret value (command output is cut to a scrubbed tail).

export interface ChangeSet {
  /** secret names whose values changed */
  secrets: string[];
  /** rendered files whose bytes changed */
  files: string[];
  /**
   * rendered files whose newest render is not on disk yet (their write
   * failed; it is retried at each check, and the notifiers run again when it
   * lands). What reads them still sees older values: a notifier whose step
   * would strand those values (the erlang cookie rotation) waits.
   */
  pending?: string[];
}

export interface Outcome {
  ok: boolean;
  detail: string;
  durationMs: number;
}

export interface Notifier {
  /** 'signal' | 'exec' | 'http' | 'erlang' */
  readonly kind: string;
  /** how long notify may take; runNotifiers aborts it after this */
  readonly timeoutMs: number;
  /** one line for logs: what it will do, never a value */
  describe(): string;
  /** never throws for an ordinary failure: returns ok: false with a detail */
  notify(change: ChangeSet, signal: AbortSignal): Promise<Outcome>;
  /** lets go of anything kept between notifies (the erlang notifier's connection); the sidecar calls it on stop */
  close?(): void;
}
