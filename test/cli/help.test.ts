// Every command has its own help (usage, an example, its exit codes), asked
// as `CMD --help` or `help CMD`; --version works; a mistyped command gets a
// did-you-mean; usage errors and no arguments go to stderr with exit 2.

import t from 'tap';
import { PassThrough } from 'node:stream';
import { main } from '../../agent/cli/main.ts';
import { COMMANDS, parseCli } from '../../agent/cli/args.ts';
import { runCli } from '../helpers/cli.ts';

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = new PassThrough().on('data', (d) => (stdout += String(d)));
  const err = new PassThrough().on('data', (d) => (stderr += String(d)));
  const code = await main(argv, { stdout: out, stderr: err, env: {} });
  return { code, stdout, stderr };
}

const TOPICS = COMMANDS.filter((c) => c !== 'help');

t.test('each command: its own usage line, an example and its exit codes, on stdout, exit 0', async (t) => {
  const seen = new Set<string>();
  for (const cmd of TOPICS) {
    const viaFlag = await run([cmd, '--help']);
    t.equal(viaFlag.code, 0, `${cmd} --help exits 0`);
    t.equal(viaFlag.stderr, '', `${cmd} --help writes nothing to stderr`);
    t.match(viaFlag.stdout, new RegExp(`^usage: erlmcp-secrets ${cmd}\\b`), `${cmd}: its own usage line`);
    t.match(viaFlag.stdout, new RegExp(`\\nexample:\\n {2}erlmcp-secrets (${cmd}|--version)\\b`), `${cmd}: an example`);
    t.match(viaFlag.stdout, /\nexit codes: 0/, `${cmd}: exit codes`);
    const viaHelp = await run(['help', cmd]);
    t.equal(viaHelp.code, 0, `help ${cmd} exits 0`);
    t.equal(viaHelp.stdout, viaFlag.stdout, `help ${cmd} prints what ${cmd} --help prints`);
    seen.add(viaFlag.stdout);
  }
  t.equal(seen.size, TOPICS.length, 'no two commands share a help text');
});

t.test('-h after options, and the exec child keeps its own --help', async (t) => {
  t.same(parseCli(['check', '-c', 'agent.yaml', '-h']), { command: 'help', helpFor: 'check', child: [], rest: [] });
  t.same(parseCli(['exec', '-c', 'a.yaml', '--', 'app', '--help']).child, ['app', '--help']);
  t.same(parseCli(['erlang-call', '-h']), { command: 'help', helpFor: 'erlang-call', child: [], rest: [] });
});

t.test('exec and webhook help name what is special about them', async (t) => {
  t.match((await run(['exec', '--help'])).stdout, /127 CMD not found, 126 CMD not executable/);
  const webhook = (await run(['help', 'webhook'])).stdout;
  t.match(webhook, /--tls-cert FILE --tls-key FILE/);
  t.match(webhook, /--vault-address URL/, 'the option list from the webhook parser');
  const call = (await run(['help', 'erlang-call'])).stdout;
  t.match(call, /--cookie-file F/);
  t.equal(call.match(/exit codes:/gi)?.length, 1, 'exit codes shown once');
});

t.test('--version, -V and version print the version, exit 0', async (t) => {
  for (const argv of [['--version'], ['-V'], ['version']]) {
    const r = await run(argv);
    t.equal(r.code, 0, argv.join(' '));
    t.match(r.stdout, /^erlmcp-secrets \d+\.\d+\.\d+ \(node v\d+/, argv.join(' '));
  }
  const extra = await run(['version', 'now']);
  t.equal(extra.code, 2);
  t.match(extra.stderr, /^version: takes no arguments/);
});

t.test('overview: every command, on stdout for help, on stderr with exit 2 for no arguments', async (t) => {
  const help = await run(['help']);
  t.equal(help.code, 0);
  for (const cmd of COMMANDS) t.match(help.stdout, new RegExp(`\\n {2}${cmd} +\\S`), `lists ${cmd}`);
  t.same(await run(['--help']), help);
  const none = await run([]);
  t.equal(none.code, 2, 'no arguments is a usage error');
  t.equal(none.stdout, '');
  t.match(none.stderr, /^no command given\nusage: erlmcp-secrets COMMAND/);
});

t.test('did you mean: a mistyped command, also after help', async (t) => {
  for (const [typo, meant] of [['iniit', 'init'], ['exce', 'exec'], ['chek', 'check'], ['webhok', 'webhook'], ['erlang_call', 'erlang-call'], ['verison', 'version']] as const) {
    const r = await run([typo, '-c', 'agent.yaml']);
    t.equal(r.code, 2, typo);
    t.equal(r.stdout, '', typo);
    t.match(r.stderr, `unknown command "${typo}"; did you mean ${meant}?`, typo);
  }
  const r = await run(['help', 'iniit']);
  t.equal(r.code, 2);
  t.match(r.stderr, 'did you mean init?');
  const far = await run(['deploy']);
  t.notMatch(far.stderr, /did you mean/, 'no guess when nothing is near');
  t.match(far.stderr, /commands: init, run/);
});

t.test('usage errors: exit 2, the message, the command usage line, where to read more', async (t) => {
  const r = await run(['init', '--bogus']);
  t.equal(r.code, 2);
  t.match(r.stderr, /^init: Unknown option '--bogus'\nusage: erlmcp-secrets init -c agent.yaml\n\(erlmcp-secrets help init /);
  const fmt = await run(['check', '--log-format', 'xml']);
  t.equal(fmt.code, 2);
  t.match(fmt.stderr, /--log-format: "xml" is not one of text, json/);
});

t.test('the real program: --version exits 0, no arguments exits 2', async (t) => {
  const v = await runCli(['--version']);
  t.equal(v.code, 0, v.stderr);
  t.match(v.stdout, /^erlmcp-secrets /);
  const none = await runCli([]);
  t.equal(none.code, 2);
  t.match(none.stderr, /^no command given\n/);
});
