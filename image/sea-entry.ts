// The single executable's main: the same program as agent/cli/entry.ts.
// When the SEA is built with `useSnapshot`, this script runs once at build
// time inside V8's snapshot builder: the bundle's modules are evaluated then
// and frozen into the snapshot, and `main` runs only when the binary starts.

import { startupSnapshot } from 'node:v8';
import { main } from '../agent/cli/main.ts';

function start(): void {
  // The streams and env are read here, at start, not at module evaluation:
  // in a snapshot, evaluation happened at build time.
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`erlmcp-secrets: internal error: ${e instanceof Error ? e.name : typeof e}\n`);
      process.exitCode = 1;
    },
  );
}

if (startupSnapshot.isBuildingSnapshot()) startupSnapshot.setDeserializeMainFunction(start);
else start();
