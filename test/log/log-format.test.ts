// log.format / --log-format / ERLMCP_SECRETS_LOG_FORMAT: JSON lines for log
// collectors, text for people (the default on a terminal). The secret
// scrubber works in both: canary values never reach either output. In text,
// a failed init is one block with each problem once.

import t from 'tap';
import { PassThrough } from 'node:stream';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, defaultLogFormat, logFormatOf, setLogFormat } from '../../agent/log/logger.ts';
import { jsonLineToText } from '../../agent/log/text-format.ts';
import { forgetSecretValues, registerSecretValue } from '../../agent/log/secret-registry.ts';
import { main } from '../../agent/cli/main.ts';
import { HOSTILE_VALUES } from '../helpers/hostile-values.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { runCli } from '../helpers/cli.ts';

function capture(format: 'text' | 'json') {
  const lines: string[] = [];
  const logger = createLogger({ level: 'trace', format, destination: { write: (l: string) => lines.push(l) } });
  return { logger, text: () => lines.join('') };
}

t.test('text: time, level, message, key=value, quoted when needed; problems as lines under it', async (t) => {
  const line = JSON.stringify({ level: 'fatal', time: '2026-12-03T10:00:00.000Z', app: 'erlmcp-secrets', code: 'validation', exitCode: 3, file: 'a b.env', problems: ['db.password: too short', 'jwt.secret: missing'], msg: 'init failed' });
  t.equal(
    jsonLineToText(line),
    '2026-12-03T10:00:00.000Z FATAL init failed code=validation exitCode=3 file="a b.env"\n  - db.password: too short\n  - jwt.secret: missing\n',
  );
  t.equal(jsonLineToText(JSON.stringify({ level: 'info', msg: 'x', err: { type: 'AgentError', code: 'EACCES', message: 'no access' } })), 'INFO  x err="AgentError (EACCES): no access"\n');
  t.equal(jsonLineToText('not json'), 'not json', 'a line that is not JSON passes as it is');
});

t.test('text: a message or field cannot fake a line or reach the terminal as an escape sequence', async (t) => {
  const out = jsonLineToText(JSON.stringify({ level: 'warn', msg: 'a\nFATAL fake\u001b[31m', f: 'x\ny', problems: ['p\r\nq'] }));
  t.equal(out.split('\n').length, 3, 'the line, one problem line, the final newline');
  t.notMatch(out, /\u001b/, 'no raw escape character');
  t.match(out, 'a\\u000aFATAL fake\\u001b[31m');
});

t.test('canary: registered secret values never reach the output, in either format', async (t) => {
  t.teardown(forgetSecretValues);
  const canaries = Object.entries(HOSTILE_VALUES).map(([name, v]) => `Canary-${name}-${v}-9f3e7a`);
  for (const c of canaries) registerSecretValue(c);
  for (const format of ['json', 'text'] as const) {
    const { logger, text } = capture(format);
    for (const c of canaries) {
      logger.info(`in the message ${c}`);
      logger.warn({ field: c, nested: { deep: [c] }, problems: [`problem ${c}`] }, 'in fields');
      logger.error({ err: new Error(c) }, 'in a foreign error');
    }
    t.ok(text().length > 1000, `${format}: lines were written`);
    assertNoLeak(t, text(), canaries, 12);
    t.match(text(), /\[REDACTED\]/, `${format}: the values are replaced, not dropped silently`);
  }
});

t.test('format switch: default json, set later (after the config is read), terminal default', async (t) => {
  const { logger, text } = capture('json');
  logger.info('one');
  t.equal(logFormatOf(logger), 'json');
  setLogFormat(logger, 'text');
  logger.info('two');
  const [first, second] = text().split('\n');
  t.match(first, /^\{"level":"info"/);
  t.match(second, /^\S+ INFO {2}two$/);
  t.equal(defaultLogFormat({ isTTY: true }), 'text');
  t.equal(defaultLogFormat({}), 'json');
  t.equal(defaultLogFormat(undefined), 'json');
});

function workspace(extraConfig = ''): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'erlmcp-logfmt-'));
  mkdirSync(path.join(dir, 'secrets'));
  writeFileSync(path.join(dir, 'secrets/db.yaml'), 'password: Canary-short-7d1\n');
  writeFileSync(
    path.join(dir, 'agent.yaml'),
    `providers: { local: { type: file, path: ./secrets } }
secrets:
  db: { provider: local, require: { password: { minLength: 40 }, username: {} } }
output: { root: ./out }
templates: [ { contents: "P={{db.password}} U={{db.username}}\\n", destination: db.env } ]
${extraConfig}`,
  );
  return path.join(dir, 'agent.yaml');
}

async function init(argv: string[], env: NodeJS.ProcessEnv = {}, tty = false) {
  let stderr = '';
  const err = Object.assign(new PassThrough().on('data', (d) => (stderr += String(d))), tty ? { isTTY: true } : {});
  const code = await main(argv, { stdout: new PassThrough(), stderr: err, env });
  return { code, stderr };
}

t.test('init failure in text: one block, each problem once, no value', async (t) => {
  const cfg = workspace();
  const r = await init(['init', '-c', cfg, '--log-format', 'text']);
  t.equal(r.code, 3);
  t.notMatch(r.stderr, /^\{/m, 'no JSON line');
  const block = r.stderr.slice(r.stderr.indexOf('FATAL'));
  t.match(block, /^FATAL init failed \(exit 3\): 2 problems code=validation\n {2}- db\.password: shorter than 40 characters\n {2}- db\.username: /);
  t.equal(r.stderr.split('shorter than 40 characters').length, 2, 'the problem is printed once');
  assertNoLeak(t, r.stderr, ['Canary-short-7d1']);
  t.match(r.stderr, /INFO {2}secret fetched .*secret=db/);
});

t.test('init failure in JSON keeps one line per problem and the closing line (log search)', async (t) => {
  const r = await init(['init', '-c', workspace(), '--log-format', 'json']);
  t.equal(r.code, 3);
  const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string; problems?: string[] });
  t.equal(lines.filter((l) => l.level === 'error').length, 2);
  t.equal(lines.at(-1)?.level, 'fatal');
  t.equal(lines.at(-1)?.problems?.length, 2);
});

t.test('who chooses: flag over env over config over the terminal default', async (t) => {
  const isText = (s: string) => /^\S+ (INFO|FATAL)/m.test(s) && !/^\{/m.test(s);
  const isJson = (s: string) => s.trim().split('\n').every((l) => l.startsWith('{'));
  t.ok(isText((await init(['init', '-c', workspace()], {}, true)).stderr), 'terminal: text');
  t.ok(isJson((await init(['init', '-c', workspace()], {}, false)).stderr), 'pipe: json');
  t.ok(isJson((await init(['init', '-c', workspace()], { ERLMCP_SECRETS_LOG_FORMAT: 'json' }, true)).stderr), 'env over terminal');
  t.ok(isText((await init(['init', '-c', workspace('log: { format: text }')])).stderr), 'config over the pipe default');
  t.ok(isJson((await init(['init', '-c', workspace('log: { format: text }')], { ERLMCP_SECRETS_LOG_FORMAT: 'json' })).stderr), 'env over config');
  t.ok(isJson((await init(['init', '-c', workspace('log: { format: text }'), '--log-format', 'json'], { ERLMCP_SECRETS_LOG_FORMAT: 'text' })).stderr), 'flag over all');
  const bad = await init(['check', '-c', workspace()], { ERLMCP_SECRETS_LOG_FORMAT: 'yaml' });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^ERLMCP_SECRETS_LOG_FORMAT: "yaml" is not one of text, json; fix or unset the variable/);
});

t.test('the real program writes text when asked', async (t) => {
  const r = await runCli(['init', '-c', workspace(), '--log-format', 'text']);
  t.equal(r.code, 3);
  t.match(r.stderr, /FATAL init failed \(exit 3\): 2 problems/);
  t.same(r.logs, [], 'no JSON lines');
});
