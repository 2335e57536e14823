// Process-wide signal policy, installed first thing at start-up and never
// removed (Node restores the OS default, often "die", when the last listener
// of a signal goes away):
//
// - SIGUSR1: Node's default opens the V8 inspector on 127.0.0.1:9229, and
//   anything on the pod's loopback could then run code inside the agent. A
//   JS listener replaces that default, so it is always there.
// - SIGUSR2: the OS default kills the process (status 140): logged, ignored.
// - SIGTERM, SIGINT, SIGHUP: the commands (run, exec, webhook) add their own
//   listeners while they can stop cleanly; then this guard stays out of the
//   way. With no such listener, a stop signal that comes before any stop was
//   asked for (init still fetching) has the default effect, death by the
//   signal; one that comes after (a burst of SIGTERMs while the agent is
//   already on its way out) is ignored, so the exit status stays the
//   documented one.
//
// The inspector can also be opened from the command line or NODE_OPTIONS:
// inspectorFlag() finds that, and the entry refuses to run with it.

type Report = (signal: NodeJS.Signals, what: string) => void;

const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
const IGNORED_SIGNALS: readonly NodeJS.Signals[] = ['SIGUSR1', 'SIGUSR2'];

let installed = false;
let stopRequested = false;
let report: Report = (signal, what) => process.stderr.write(`erlmcp-secrets: ${signal} ${what}\n`);

/** idempotent; the entry calls it before anything else */
export function installSignalGuard(): void {
  if (installed) return;
  installed = true;
  for (const sig of IGNORED_SIGNALS) {
    const ignore = (): void => {
      if (commandHandles(sig, ignore)) return; // exec forwards it to its child
      report(sig, sig === 'SIGUSR1' ? 'ignored: the debugger is disabled in this agent' : 'ignored');
    };
    watch(sig, ignore);
  }
  for (const sig of STOP_SIGNALS) {
    const guard = (): void => {
      if (commandHandles(sig, guard)) {
        // a command's handler is stopping the agent now
        if (sig !== 'SIGHUP') stopRequested = true;
        return;
      }
      if (stopRequested) {
        report(sig, 'ignored: the agent is already stopping');
        return;
      }
      // nothing to finish yet: the default effect, death by this signal
      process.off(sig, guard);
      process.kill(process.pid, sig);
    };
    watch(sig, guard);
  }
  // the bundle's loader covered SIGUSR1 until now with this no-op (image/code-cache-loader.cjs)
  process.off('SIGUSR1', Function.prototype as () => void);
}

type Listener = (...args: unknown[]) => void;

/** listeners that were there before the guard: node's own (--heapsnapshot-signal),
 * preloaded modules' (--import), the loader's; they are not a command's */
const before = new Map<NodeJS.Signals, Set<Listener>>();

function watch(sig: NodeJS.Signals, fn: () => void): void {
  before.set(sig, new Set(process.listeners(sig) as Listener[]));
  process.on(sig, fn);
}

/** a command (run, exec, webhook) listens for this signal now */
function commandHandles(sig: NodeJS.Signals, self: () => void): boolean {
  const old = before.get(sig);
  return (process.listeners(sig) as Listener[]).some((l) => l !== self && !old?.has(l));
}

/** The command has finished with `code`. After a stop signal, more of them
 * may still be arriving (a burst of SIGTERMs): a natural exit closes Node's
 * signal handles while it tears down, and one landing then kills the process
 * (143) instead of the documented exit. process.exit() leaves them in place,
 * so those are ignored to the end. Without a stop signal the process ends
 * as usual, when nothing is left to do. */
export function finish(code: number): void {
  process.exitCode = code;
  if (stopRequested) process.exit(code);
  stopRequested = true;
}

/** where the guard says what it ignored (the agent's logger, once it has one) */
export function reportSignalsTo(fn: Report): void {
  report = fn;
}

// node reads '_' as '-' in option names (--inspect_wait is --inspect-wait), so
// a flag's name is normalised before it is matched
const INSPECTOR_FLAG = /^--(inspect(-brk|-wait|-port)?|debug-port)(=|$)/;
const flagName = (arg: string): string => arg.replace(/^(--[^=]*)/, (n) => n.replaceAll('_', '-'));

/** Installs the guard and checks node's flags: false (exit code 2 set, the
 * reason written) when the agent must not run, because the V8 inspector is
 * open or can be opened. Both entries (the bundle, the single executable)
 * call it before they load the program. */
export function guardStartup(): boolean {
  installSignalGuard();
  const flag = inspectorFlag(process.execArgv, process.env.NODE_OPTIONS);
  if (flag === undefined) return true;
  process.stderr.write(`erlmcp-secrets: refusing to run with the V8 inspector (${flag}): anything that reaches its port could run code inside the agent; remove ${flag} from the command line and NODE_OPTIONS\n`);
  process.exitCode = 2;
  return false;
}

/** the first flag that opens (or prepares) the V8 inspector, from node's own
 * command line or NODE_OPTIONS; undefined when there is none */
export function inspectorFlag(execArgv: readonly string[], nodeOptions: string | undefined): string | undefined {
  return [...execArgv, ...nodeOptionsArgs(nodeOptions ?? '')].find((a) => INSPECTOR_FLAG.test(flagName(a)));
}

/** NODE_OPTIONS as node splits it: on spaces, with "double quotes" (and \\ escapes in them) around a value that has some */
function nodeOptionsArgs(value: string): string[] {
  return [...value.matchAll(/"((?:\\.|[^"\\])*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!));
}
