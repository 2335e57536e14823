// A stand-in application for `erlmcp-secrets exec` tests. It records what it
// sees (its pid, the secret from its environment, signals received) in a file
// given as argv[2], never on stdout. argv[3] picks a behaviour:
//   run            stay up; exit 0 on SIGTERM/SIGINT/SIGUSR2
//   exit7          exit 7 at once
//   exit3-on-term  stay up; exit 3 on SIGTERM
//   stubborn       stay up; record SIGUSR2 but ignore it (grace -> SIGKILL)
import { appendFileSync } from 'node:fs';

const [, , out, mode = 'run'] = process.argv;
const record = (o) => appendFileSync(out, `${JSON.stringify({ pid: process.pid, ...o })}\n`);
record({ started: true, password: process.env.ERLMCP_DB_PASSWORD ?? null, agentConfigVar: process.env.ERLMCP_SECRETS_CONFIG ?? null });
process.stdout.write(`child ${process.pid} up\n`);
if (mode === 'exit7') process.exit(7);
for (const sig of ['SIGTERM', 'SIGINT', 'SIGUSR2']) {
  process.on(sig, () => {
    record({ signal: sig });
    if (mode === 'stubborn' && sig === 'SIGUSR2') return;
    process.exit(mode === 'exit3-on-term' && sig === 'SIGTERM' ? 3 : 0);
  });
}
setInterval(() => {}, 1000);
