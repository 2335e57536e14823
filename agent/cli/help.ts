// What `erlmcp-secrets help [CMD]`, `CMD --help` and a usage error print:
// the overview of every command, or one command's usage, options, an example
// and its exit codes. Text only; webhook and erlang-call keep their option
// lists next to their parsers and are shown from there.

export const EXIT_CODES = 'exit codes: 0 ok, 1 internal error, 2 usage/config/template, 3 secret missing or invalid, 4 backend unreachable/denied/timeout';

const COMMON_OPTIONS = `options:
  -c, --config FILE     agent config (YAML or JSON); default: $ERLMCP_SECRETS_CONFIG
  --log-level LEVEL     trace | debug | info | warn | error | fatal | silent ($ERLMCP_SECRETS_LOG_LEVEL)
  --log-format FORMAT   text | json ($ERLMCP_SECRETS_LOG_FORMAT; default text on a terminal, json otherwise)
  -h, --help            this help`;

export interface CommandHelp {
  /** one line for the overview */
  summary: string;
  /** the usage line(s) after `erlmcp-secrets ` */
  usage: string;
  /** what it does, a few lines */
  about: string;
  options: string;
  example: string;
  exitCodes: string;
}

export const HELP = {
  init: {
    summary: 'fetch, validate, render once, then exit',
    usage: 'init -c agent.yaml',
    about: 'Fetches every declared secret, checks its rules, renders every template and writes the files;\nexits 0, or non-zero with a report naming every missing or invalid secret (never a value).',
    options: COMMON_OPTIONS,
    example: 'erlmcp-secrets init -c /etc/erlmcp-secrets/agent.yaml',
    exitCodes: EXIT_CODES,
  },
  run: {
    summary: 'init, then stay as sidecar',
    usage: 'run -c agent.yaml',
    about: 'Does what init does, then keeps the files current: renews leases, polls static secrets,\nre-renders on a change and runs the reload notifiers. Serves /healthz, /readyz and /metrics.\nSIGTERM or SIGINT stops it (exit 0).',
    options: COMMON_OPTIONS,
    example: 'erlmcp-secrets run -c /etc/erlmcp-secrets/agent.yaml',
    exitCodes: `${EXIT_CODES} (codes 2-4 only before the sidecar is up)`,
  },
  exec: {
    summary: 'init, then run CMD with secrets in its env',
    usage: 'exec -c agent.yaml -- CMD [ARGS...]',
    about: 'Does what init does, binds the health server, then starts CMD with the secrets in its\nenvironment and stays beside it (restart or reload on a change). Signals go to CMD.',
    options: COMMON_OPTIONS,
    example: 'erlmcp-secrets exec -c agent.yaml -- /opt/erlmcp/bin/erlmcp foreground',
    exitCodes: `${EXIT_CODES}; once CMD runs, CMD's own exit code (128+N if killed by signal N);\n  127 CMD not found, 126 CMD not executable`,
  },
  check: {
    summary: 'config and templates only, no backend calls',
    usage: 'check -c agent.yaml',
    about: 'Parses the config and every template and checks that each template names only declared\nsecrets (and, with a `require` list, only required keys). Calls no backend.',
    options: COMMON_OPTIONS,
    example: 'erlmcp-secrets check -c agent.yaml',
    exitCodes: 'exit codes: 0 ok, 1 internal error, 2 config or template error',
  },
  plan: {
    summary: 'dry run: fetch, validate, render in memory; show what would be written',
    usage: 'plan -c agent.yaml',
    about: 'Does what init does except writing: prints, per file, its size, mode, the secrets and keys\nit uses and whether it differs from what is on disk. Values are never printed.',
    options: COMMON_OPTIONS,
    example: 'erlmcp-secrets plan -c agent.yaml',
    exitCodes: `${EXIT_CODES} (the code init would exit with)`,
  },
  webhook: {
    summary: 'mutating admission webhook (HTTPS)',
    usage: 'webhook --tls-cert FILE --tls-key FILE [--listen ADDR] [--config webhook.yaml]\n       erlmcp-secrets webhook preview -f pod.yaml [--config webhook.yaml]',
    about: 'Serves the Kubernetes mutating admission webhook that injects the agent from pod annotations.\nRuns until SIGTERM/SIGINT, then drains and exits 0.\n`webhook preview` needs no cluster: it prints the pod (or a workload\'s pod template) as the\nwebhook would admit it, as YAML, or the denial (exit 2).',
    options: '', // the webhook's own option list (agent/webhook/cli.ts)
    example: 'erlmcp-secrets webhook --tls-cert /tls/tls.crt --tls-key /tls/tls.key --config /etc/webhook.yaml',
    exitCodes: 'exit codes: 0 stopped by signal (preview: admitted), 1 internal error, 2 usage, config or certificate problem at start-up (preview: denied)',
  },
  'erlang-call': {
    summary: 'call a function on an Erlang node (try a reload by hand)',
    usage: "erlang-call --node N --cookie-file F 'mod:fun(args)'",
    about: 'Connects to the node over Erlang distribution as a hidden node, makes one rpc call and prints the result.',
    options: '', // erlang-call's own option list (agent/erldist/cli.ts)
    example: "erlmcp-secrets erlang-call --node erlmcp@127.0.0.1 --cookie-file /run/secrets/erlmcp/erlang.cookie 'erlmcp_config:reload()'",
    exitCodes: 'exit codes: 0 ok, 1 the call failed on the node (badrpc), 2 usage, 4 unreachable / cookie rejected / timeout',
  },
  'copy-self': {
    summary: "single binary: copy itself to DEST (exec mode's init container)",
    usage: 'copy-self DEST',
    about: "Copies the single-binary agent to DEST (mode 0755), so an application image without Node can\nrun it as its exec wrapper. The Node.js bundle refuses: it would need node in that image.",
    options: 'options:\n  -h, --help            this help',
    example: 'erlmcp-secrets copy-self /erlmcp-secrets/bin/erlmcp-secrets',
    exitCodes: 'exit codes: 0 copied, 1 internal error, 2 usage or not the single binary',
  },
  version: {
    summary: 'print the version',
    usage: 'version   (or --version)',
    about: 'Prints the agent version and the Node.js version it runs on.',
    options: '',
    example: 'erlmcp-secrets --version',
    exitCodes: 'exit codes: 0',
  },
  help: {
    summary: "this overview, or one command's help",
    usage: 'help [COMMAND]   (or COMMAND --help)',
    about: 'Prints the overview of every command, or the usage, options, an example and the exit codes of one.',
    options: '',
    example: 'erlmcp-secrets help exec',
    exitCodes: 'exit codes: 0, 2 unknown command',
  },
} as const satisfies Record<string, CommandHelp>;

export type HelpTopic = keyof typeof HELP;

/** the overview: every command on one line */
export function overview(): string {
  const names = Object.keys(HELP) as HelpTopic[];
  const width = Math.max(...names.map((n) => n.length));
  const lines = names.map((n) => `  ${n.padEnd(width)}  ${HELP[n].summary}`);
  return `usage: erlmcp-secrets COMMAND [options]   (erlmcp-secrets help COMMAND for one command)
commands:
${lines.join('\n')}
${COMMON_OPTIONS}
  --version             print the version
${EXIT_CODES}`;
}

/** one command's help; `ownOptions` is the option list kept by the command's own parser */
export function commandHelp(topic: HelpTopic, ownOptions?: string): string {
  const h: CommandHelp = HELP[topic];
  const options = ownOptions ?? h.options;
  return [`usage: erlmcp-secrets ${h.usage}`, '', h.about, ...(options ? ['', options] : []), '', `example:\n  ${h.example}`, '', h.exitCodes].join('\n');
}

/** under a usage error: the command's usage line (or the overview, when there is no command yet) and where to read more */
export function usageHint(e: { helpFor?: HelpTopic | undefined; message: string }): string {
  if (e.helpFor) return `usage: erlmcp-secrets ${HELP[e.helpFor].usage}\n(erlmcp-secrets help ${e.helpFor} for options, an example and exit codes)`;
  return e.message === NO_COMMAND ? overview() : '(erlmcp-secrets help lists the commands)';
}

export const NO_COMMAND = 'no command given';
