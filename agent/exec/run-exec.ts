// `erlmcp-secrets exec -c cfg -- CMD ARGS`: after the init gate, run the
// application with the secrets in its environment and stay beside it as the
// sidecar. On a change: `exec.onChange` restart (stop signal, grace, start
// with the new environment), reload (run the configured reload notifiers) or
// none. Signals go to the application; the agent exits with its exit code.

import type { GateResult } from '../pipeline/gate.ts';
import { asAgentError } from '../errors.ts';
import type { ChangeSet, Notifier, Outcome } from '../reload/notifier.ts';
import { startSidecar } from '../sidecar/run.ts';
import { childEnv } from './child-env.ts';
import { FORWARDED_SIGNALS, SupervisedChild } from './child-process.ts';

const DEFAULTS = { env: {}, onChange: 'restart', stopSignal: 'SIGTERM', grace: 10_000 } as const;

export async function runExec(gate: GateResult, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { config, store, logger } = gate;
  const exec = config.exec ?? DEFAULTS;
  const envNow = () => childEnv(env, exec.env, store.templateData());
  const child = new SupervisedChild({ argv, logger, stopSignal: exec.stopSignal, graceMs: exec.grace });
  // a change that arrives while the sidecar comes up waits for the first
  // start, so the application never runs twice
  let firstStartDone!: (started: boolean) => void;
  const firstStart = new Promise<boolean>((r) => (firstStartDone = r));

  const restart: Notifier = {
    kind: 'restart',
    timeoutMs: exec.grace + 30_000,
    describe: () => `restart ${argv[0]} with the new environment (${exec.stopSignal}, grace ${exec.grace} ms)`,
    async notify(_change: ChangeSet): Promise<Outcome> {
      const started = Date.now();
      if (!(await firstStart)) return { ok: false, detail: `${argv[0]} never started`, durationMs: Date.now() - started };
      try {
        await child.restart(envNow());
        return { ok: true, detail: `restarted ${argv[0]} as pid ${child.pid}`, durationMs: Date.now() - started };
      } catch (e) {
        return { ok: false, detail: `restart of ${argv[0]} failed: ${asAgentError(e, 'restart').message}`, durationMs: Date.now() - started };
      }
    },
  };

  // a value the environment cannot hold (NUL) fails here, exit 3, before anything starts
  const firstEnv = envNow();
  // The sidecar first: its health server binds the port before the
  // application exists, so a taken port stops the agent before anything is
  // started (not the application started and killed a moment later).
  const sidecar = await startSidecar(gate, {
    notifiers: (configured) => (exec.onChange === 'restart' ? [restart] : exec.onChange === 'reload' ? configured : []),
    // the child reads secrets from its environment, so a change matters even when no file changed
    notifyOn: exec.onChange === 'restart' ? 'secrets' : 'files',
  });
  try {
    await child.start(firstEnv);
    firstStartDone(true);
  } catch (e) {
    firstStartDone(false);
    // as a shell would: 127 not found, 126 not executable
    const code = child.startFailureCode;
    logger.error({ exitCode: code }, asAgentError(e, 'exec').message);
    await sidecar.stop('the application could not be started');
    return code;
  }

  const handlers = FORWARDED_SIGNALS.map((sig) => {
    const h = () => child.forward(sig);
    process.on(sig, h);
    return [sig, h] as const;
  });
  const code = await Promise.race([child.exited, sidecar.stopped.then(async () => {
    // POST /quit: the application goes too
    await child.stop();
    return child.exited;
  })]);
  for (const [sig, h] of handlers) process.off(sig, h);
  await sidecar.stop('application exited');
  return code;
}
