// The program's entry point (the bundle's `main`).
import { main } from './main.ts';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`erlmcp-secrets: internal error: ${e instanceof Error ? e.name : typeof e}\n`);
    process.exitCode = 1;
  },
);
