// Bad input to the config loader and the argument parser, case by case:
// the error code, the exact operator-facing line, and the near misses that
// must still be accepted.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfigText, loadConfig, loadConfigFile } from '../../agent/config/load.ts';
import { readConfigText, MAX_CONFIG_BYTES } from '../../agent/config/read-config-file.ts';
import { jsonCommentAt } from '../../agent/config/json-comments.ts';
import { knownKeysAt, suggestKey } from '../../agent/config/known-keys.ts';
import { configSchema } from '../../agent/config/schema.ts';
import { durationSchema, durationOrZeroSchema } from '../../agent/config/duration.ts';
import { envLogLevel, parseCli } from '../../agent/cli/args.ts';
import { AgentError } from '../../agent/errors.ts';
import { ENTRY } from '../helpers/cli.ts';
import { bundleForOtherUser } from '../helpers/other-user-bundle.ts';

const CANARY = 'CANARY-cfg-audit-0d9e8f7a6b5c';

function problemsOf(text: string, origin = 'agent.yaml'): string[] {
  try {
    parseConfigText(text, origin, '/etc/erlmcp');
  } catch (e) {
    if (e instanceof AgentError) {
      t.equal(e.code, 'config', 'a config error');
      return e.problems;
    }
    throw e;
  }
  throw new Error('expected a config error');
}

t.test('durations: zero is refused where it means a busy loop, kept where it means none', async (t) => {
  for (const v of [0, '0', '0s', '0ms', '0h0m', 0.0001]) {
    const r = durationSchema.safeParse(v);
    t.notOk(r.success, `${JSON.stringify(v)} refused`);
    if (!r.success) t.equal(r.error.issues[0]!.message, `${JSON.stringify(v)} is no time at all; give a duration longer than 0 (e.g. 30s, 5m, 250ms)`);
  }
  t.same(durationOrZeroSchema.safeParse('0s'), { success: true, data: 0 }, 'wait.min and exec.grace may be 0');
  t.same(durationSchema.safeParse('250ms'), { success: true, data: 250 });
  t.same(durationSchema.safeParse(1.5), { success: true, data: 1500 });
  t.same(
    problemsOf(`refresh: { interval: "-1s", wait: { min: 0s }, backoff: { initial: 1y, max: -5 } }\ninit: { timeout: 1e309 }\nexec: { env: {}, grace: 0 }\n`).sort(),
    [
      'agent.yaml: init.timeout: expected number or string, received Infinity',
      'agent.yaml: refresh.backoff.initial: "1y" is not a duration (use e.g. 30s, 5m, 1h, 250ms)',
      'agent.yaml: refresh.backoff.max: Too small: expected number to be >=0',
      'agent.yaml: refresh.interval: "-1s" is not a duration (use e.g. 30s, 5m, 1h, 250ms)',
    ],
    'negative, unknown-unit and infinite durations each named; wait.min 0 and exec.grace 0 pass',
  );
  t.same(problemsOf(`reload:\n  - { type: exec, command: [x], timeout: 0s }\n  - { type: http, url: "http://127.0.0.1:1/", timeout: 0 }\n`), [
    'agent.yaml: reload[0].timeout: "0s" is no time at all; give a duration longer than 0 (e.g. 30s, 5m, 250ms)',
    'agent.yaml: reload[1].timeout: 0 is no time at all; give a duration longer than 0 (e.g. 30s, 5m, 250ms)',
  ]);
});

t.test('the document itself: empty, not a map, comments in JSON, aliases, tags, many documents', async (t) => {
  const empty = 'agent.yaml: the config is empty (no providers, secrets or templates); check that -c points at the agent config and that it was mounted with content';
  for (const text of ['', '   \n', '# nothing yet\n', '---\n', 'null\n', '~\n']) t.same(problemsOf(text), [empty], JSON.stringify(text));
  t.same(Object.keys(parseConfigText('{}', 'agent.json', '/etc').secrets), [], 'an explicit empty map is a deliberate choice, accepted');
  t.same(problemsOf('- a\n- b\n'), ['agent.yaml: the config must be a map with the keys providers, secrets, templates, reload; this one is a list']);
  t.same(problemsOf('just some words\n'), ['agent.yaml: the config must be a map with the keys providers, secrets, templates, reload; this one is a string']);
  t.same(problemsOf('42\n'), ['agent.yaml: the config must be a map with the keys providers, secrets, templates, reload; this one is a number']);
  t.same(problemsOf('{ "providers": {} /* dev */ }', 'agent.json'), ['agent.json: not valid JSON at line 1, column 19: JSON does not allow comments; remove them, or write the config as YAML and use # comments']);
  t.same(problemsOf('x: &a [1]\ny: *b\n'), ['agent.yaml: not valid YAML: a YAML alias (*name) names no anchor (&name) defined before it']);
  const bomb = ['a: &a [x,x,x,x,x,x,x,x,x,x]'];
  for (let i = 1; i < 8; i++) bomb.push(`l${i}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
  t.same(problemsOf(bomb.join('\n')), ['agent.yaml: not valid YAML: YAML aliases (*name) expand to too many nodes, as in a "billion laughs" document; write the values out']);
  t.same(problemsOf('log: { level: info }\n---\nlog: { level: debug }\n'), ['agent.yaml: not valid YAML or JSON at line 2, column 1: more than one YAML document (a second --- line); the agent config is one document']);
  const big = `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`;
  t.same(problemsOf(big, '$ERLMCP_SECRETS_CONFIG'), [`$ERLMCP_SECRETS_CONFIG: larger than ${MAX_CONFIG_BYTES} bytes, far more than any agent config; is this the right file?`], 'the env var is capped too');
  // an unresolved tag is a warning of the yaml parser, which prints the source line
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  t.same(problemsOf(`log: { level: !secret "${CANARY}" }\n`), ['agent.yaml: log.level: Invalid option: expected one of "trace"|"debug"|"info"|"warn"|"error"|"fatal"|"silent"']);
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  t.same(warnings, [], 'no parser warning (they quote the source text)');
});

t.test('the env var config gets the same checks', async (t) => {
  await t.rejects(loadConfig(undefined, { ERLMCP_SECRETS_CONFIG: '# filled in later\n' }), {
    code: 'config',
    message: '$ERLMCP_SECRETS_CONFIG: the config is empty (no providers, secrets or templates); check that -c points at the agent config and that it was mounted with content',
  });
  await t.rejects(loadConfig(undefined, { ERLMCP_SECRETS_CONFIG: '[]' }), { code: 'config', message: /this one is a list$/ });
});

t.test('JSON comment detection has no false alarms on YAML flow style or strings', async (t) => {
  t.equal(jsonCommentAt('{ "url": "http://x/y", "p": "a /* b */ // c" }'), undefined, 'inside double-quoted strings');
  t.equal(jsonCommentAt("{ url: 'http://x', b: 'it''s // fine' }"), undefined, 'inside single-quoted YAML strings, with the doubled quote');
  t.equal(jsonCommentAt('{ address: https://vault:8200, path: /x/y }'), undefined, 'YAML plain scalars with slashes');
  t.equal(jsonCommentAt('providers: {} // yaml does not start with a brace'), undefined, 'only text that opens like JSON');
  t.equal(jsonCommentAt('{ "a": "say \\"//\\"" }'), undefined, 'escaped quotes');
  t.same(jsonCommentAt('{\n  "a": 1, // one\n}'), { line: 2, col: 11 });
  t.same(jsonCommentAt('[\n/* list */ 1]'), { line: 2, col: 1 });
});

t.test('suggestions for unknown keys', async (t) => {
  t.same(knownKeysAt(configSchema, []).sort(), ['exec', 'init', 'log', 'output', 'providers', 'refresh', 'reload', 'secrets', 'server', 'shutdown', 'templates']);
  t.ok(knownKeysAt(configSchema, ['reload', 0]).includes('pidFile'), 'union branches give their keys');
  t.ok(knownKeysAt(configSchema, ['refresh', 'backoff']).includes('initial'), 'through defaults');
  t.ok(knownKeysAt(configSchema, ['secrets', 'db', 'require', 'password']).includes('minLength'), 'through records, pipes and nullables');
  t.equal(suggestKey('secrest', ['secrets', 'templates']), 'secrets');
  t.equal(suggestKey('Templates', ['secrets', 'templates']), 'templates');
  t.equal(suggestKey('foo', ['log', 'exec']), undefined, 'no wild guess for a short word');
  t.equal(suggestKey('anything', []), undefined);
  t.same(problemsOf('secrets:\n  db: { provider: x, require: { password: { minLenght: 16 } } }\n'), ['agent.yaml: secrets.db.require.password.minLenght: unknown key; did you mean minLength?']);
  t.same(problemsOf('server: { listne: ":9102" }\n'), ['agent.yaml: server.listne: unknown key; did you mean listen?']);
});

t.test('files that are not a config', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cfg-audit-'));
  await t.rejects(readConfigText('/dev/zero'), { code: 'config', message: '/dev/zero: is a character device, not a regular file; pass the agent config (a regular file) with -c FILE' }, 'an endless device is refused, not read');
  await t.rejects(loadConfigFile(dir), { code: 'config', message: `${dir}: is a directory, not a regular file; pass the agent config (a regular file) with -c FILE` });
  const bin = path.join(dir, 'agent.yaml');
  writeFileSync(bin, Buffer.from('providers: {}\n\xff\xfe\x00', 'latin1'));
  await t.rejects(loadConfigFile(bin), { code: 'config', message: `${bin}: not a text file (binary content); pass the agent config (YAML or JSON, UTF-8) with -c FILE` });
  const bom = path.join(dir, 'bom.json');
  writeFileSync(bom, `\ufeff{"log":{"level":"warn"}}`);
  t.equal((await loadConfigFile(bom)).log.level, 'warn', 'a UTF-8 BOM is dropped');
  const crlf = path.join(dir, 'crlf.yaml');
  writeFileSync(crlf, 'log:\r\n  level: debug\r\n');
  t.equal((await loadConfigFile(crlf)).log.level, 'debug', 'CRLF line endings');
});

t.test('an unreadable file', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cfg-audit-'));
  chmodSync(dir, 0o755);
  const file = path.join(dir, 'agent.yaml');
  writeFileSync(file, 'log: { level: info }\n');
  chmodSync(file, 0);
  const message = `${file}: permission denied; pass the agent config with -c FILE`;
  if (process.getuid?.() !== 0) {
    await t.rejects(loadConfigFile(file), { code: 'config', message });
    return;
  }
  // root reads a mode-000 file anyway: the CLI runs as nobody instead
  // bundled next to a linked node: uid 65534 may not reach the checkout itself
  const program = await bundleForOtherUser(t, ENTRY);
  const run = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', ...program.command, 'check', '-c', file], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  t.equal(run.status, 2, run.stderr);
  t.match(run.stderr, message);
});

t.test('the command line', async (t) => {
  const usage = (argv: string[]) => {
    try {
      parseCli(argv);
    } catch (e) {
      t.equal((e as AgentError).code, 'usage');
      return (e as Error).message;
    }
    return undefined;
  };
  t.equal(usage(['init', '-c', 'a.yaml', '-c', 'b.yaml']), 'init: -c/--config given 2 times ("a.yaml", "b.yaml"); give it once');
  t.equal(usage(['run', '-c', 'a.yaml', '--config=a.yaml']), 'run: -c/--config given 2 times ("a.yaml", "a.yaml"); give it once');
  t.equal(usage(['check', '--log-level', 'info', '--log-level=debug']), 'check: --log-level given 2 times ("info", "debug"); give it once');
  t.equal(usage(['exec', '--config=', '--', 'x']), 'exec: -c/--config is empty; give the path of the agent config, e.g. -c /etc/erlmcp-secrets/agent.yaml');
  t.equal(usage(['init', '-c']), "init: Option '-c, --config <value>' argument missing");
  t.equal(usage(['init', '--colour']), "init: Unknown option '--colour'");
  t.same(parseCli(['init', '-c', 'a.yaml', '--help']), { command: 'help', helpFor: 'init', child: [], rest: [] }, 'help after the command');
  t.same(parseCli(['exec', '-c', 'a.yaml', '--', 'erl', '--help']).child, ['erl', '--help'], "the child's own --help is the child's");
  t.equal(envLogLevel({}), undefined);
  t.equal(envLogLevel({ ERLMCP_SECRETS_LOG_LEVEL: '' }), undefined, 'empty means unset');
  t.equal(envLogLevel({ ERLMCP_SECRETS_LOG_LEVEL: 'debug' }), 'debug');
  t.throws(() => envLogLevel({ ERLMCP_SECRETS_LOG_LEVEL: 'DEBUG' }), { code: 'usage', message: 'ERLMCP_SECRETS_LOG_LEVEL: "DEBUG" is not one of trace, debug, info, warn, error, fatal, silent; fix or unset the variable' });
  t.same(parseCli(['exec', '-c', 'a.yaml', '--log-level', 'warn', '--', 'erl', '-c', 'x']), { command: 'exec', config: 'a.yaml', logLevel: 'warn', child: ['erl', '-c', 'x'], rest: [] }, 'flags after -- belong to the child');
});
