// The program's entry point (the bundle's `main`). The signal guard comes
// before the program is loaded: until it is installed, SIGUSR1 would open the
// V8 inspector (see signal-guard.ts).
import { guardStartup, finish } from './signal-guard.ts';

if (guardStartup()) {
  import('./main.ts')
    .then(({ main }) => main(process.argv.slice(2)))
    .then(
      (code) => finish(code),
      (e: unknown) => {
        process.stderr.write(`erlmcp-secrets: internal error: ${e instanceof Error ? e.name : typeof e}\n`);
        finish(1);
      },
    );
}
