// The single executable's main: the same program as agent/cli/entry.ts.
// When the SEA is built with `useSnapshot`, this script runs once at build
// time inside V8's snapshot builder: the bundle's modules are evaluated then
// and frozen into the snapshot, and `main` runs only when the binary starts.

import { startupSnapshot } from 'node:v8';
import { main } from '../agent/cli/main.ts';
import { guardStartup, finish } from '../agent/cli/signal-guard.ts';

function start(): void {
  // first: until the guard is installed, SIGUSR1 would open the V8 inspector
  // (a listener registered in the snapshot builder would not survive)
  if (!guardStartup()) return;
  // The streams and env are read here, at start, not at module evaluation:
  // in a snapshot, evaluation happened at build time.
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => finish(code),
    (e: unknown) => {
      process.stderr.write(`erlmcp-secrets: internal error: ${e instanceof Error ? e.name : typeof e}\n`);
      finish(1);
    },
  );
}

if (startupSnapshot.isBuildingSnapshot()) startupSnapshot.setDeserializeMainFunction(start);
else start();
