// Helper sections (issue 15 item 9): base64decode, base64encode, default and
// json, each escaped by the template's mode after the helper runs; invalid
// base64 is a validation error naming secret.key; derived values are
// registered with the log scrubber; no value reaches stdout, stderr or logs.

import t from 'tap';
import { writeFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dotenv from 'dotenv';
import YAML from 'yaml';
import { parseTemplate, renderTemplate, type SecretData } from '../../agent/render/index.ts';
import type { Escape } from '../../agent/config/schema.ts';
import { agentErrorOf, assertTemplateRejections } from '../helpers/template-errors.ts';
import { forgetSecretValues } from '../../agent/log/secret-registry.ts';
import { HOSTILE_VALUES } from '../helpers/hostile-values.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { runCli } from '../helpers/cli.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { consultErlang } from '../helpers/erlang-consult.ts';

const LABEL = 'templates[0]';
const DECODED = 'CANARY-decoded-"quote\'\n#-7c1e';
const PLAIN = 'CANARY-plain-4b8a-$HOME';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const DATA: SecretData = { tls: { key: b64(DECODED), plain: PLAIN, wrapped: b64(DECODED).replace(/(.{8})/g, '$1\n') }, db: { host: 'db.local', port: '6543' } };

function render(text: string, escape: Escape = 'none', data: SecretData = DATA): string {
  return renderTemplate(parseTemplate(text, LABEL), data, escape);
}

const failure = agentErrorOf;

t.test('base64decode and base64encode, then the escape mode', async (t) => {
  t.equal(render('{{#base64decode}}{{tls.key}}{{/base64decode}}'), DECODED);
  t.equal(render('{{#base64decode}}{{tls.wrapped}}{{/base64decode}}'), DECODED, 'line breaks in the base64 are ignored');
  t.equal(dotenv.parse(render('K={{#base64decode}}{{tls.key}}{{/base64decode}}\n', 'dotenv')).K, DECODED, 'escaped as dotenv after decoding');
  t.equal(JSON.parse(render('{"k": {{#base64decode}}{{tls.key}}{{/base64decode}}}', 'json')).k, DECODED, 'escaped as json after decoding');
  t.equal(render('{{#base64encode}}{{tls.plain}}{{/base64encode}}'), b64(PLAIN));
  t.equal(render('{{#base64decode}}{{#base64encode}}{{tls.plain}}{{/base64encode}}{{/base64decode}}'), PLAIN, 'helpers compose');
  for (const [name, value] of Object.entries(HOSTILE_VALUES)) {
    t.equal(render('{{#base64decode}}{{#base64encode}}{{h.v}}{{/base64encode}}{{/base64decode}}', 'none', { h: { v: value } }), value, `${name} round-trips`);
  }
});

t.test('invalid base64 is a validation error naming secret.key, never the value', async (t) => {
  for (const bad of [`${PLAIN}`, 'QUJD=', 'QUJ', 'QU=D', 'QUJD\tRA==', '====']) {
    const err = failure(() => render('X={{#base64decode}}{{tls.bad}}{{/base64decode}}', 'none', { tls: { bad } }));
    t.equal(err.code, 'validation', JSON.stringify(bad));
    t.equal(
      err.message,
      `${LABEL}: {{#base64decode}}{{tls.bad}}{{/base64decode}} at line 1: the value of tls.bad is not valid base64 (letters, digits, "+" and "/" in groups of four, "=" padding at the end, line breaks allowed)`,
    );
  }
  const notText = failure(() => render('{{#base64decode}}{{tls.der}}{{/base64decode}}', 'none', { tls: { der: Buffer.from([0x30, 0x82, 0xff, 0xfe]).toString('base64') } }));
  t.equal(notText.code, 'validation');
  t.match(notText.message, 'the value of tls.der decodes to bytes that are not UTF-8 text');
});

t.test('default: the value when the key is there, the text after "|" when it is not', async (t) => {
  t.equal(render('{{#default}}{{db.port}}|5432{{/default}}'), '6543');
  t.equal(render('{{#default}}{{db.missing}}|5432{{/default}}'), '5432');
  t.equal(render('{{#default}}{{db.missing}}|{{/default}}'), '', 'an empty default');
  t.equal(render('{{#default}}{{db.missing}}|a "b" c{{/default}}', 'json'), '"a \\"b\\" c"', 'the default is escaped like a value');
  t.equal(render('{{#erl.integer}}{{#default}}{{db.missing}}|5432{{/default}}{{/erl.integer}}', 'erlang'), '5432', 'inside erl.integer');
  t.equal(failure(() => render('{{#erl.integer}}{{#default}}{{db.missing}}|x{{/default}}{{/erl.integer}}', 'erlang')).code, 'validation', 'and checked as one');
  const noSecret = failure(() => render('{{#default}}{{redis.port}}|6379{{/default}}'));
  t.equal(noSecret.code, 'template', 'the secret itself must exist');
  t.match(noSecret.message, 'no secret "redis"');
});

t.test('json: the whole secret as an object with sorted keys, or one key as a string; then the escape mode', async (t) => {
  const data: SecretData = { db: { z: 'last', a: HOSTILE_VALUES.lineSeparators!, __proto__x: 'p' } };
  const whole = render('{{#json}}{{db}}{{/json}}', 'none', data);
  t.equal(whole, '{"__proto__x":"p","a":"a\\u2028b\\u2029c","z":"last"}');
  t.same(JSON.parse(whole), { __proto__x: 'p', a: 'a\u2028b\u2029c', z: 'last' });
  t.equal(render('{{#json}}{{db.z}}{{/json}}', 'none', data), '"last"');
  t.equal((YAML.parse(render('v: {{#json}}{{db}}{{/json}}\n', 'yaml', data)) as { v: string }).v, whole, 'yaml writes the JSON text as a string');
  t.same(JSON.parse(render('{"db": {{#json}}{{{db}}}{{/json}}}', 'json', data)).db, JSON.parse(whole), 'raw inside json in a json file: the object itself');
  t.same(consultErlang(writeTemp(`{{#erl.binary}}{{#json}}{{db}}{{/json}}{{/erl.binary}}.\n`, 'erlang', data)), [Buffer.from(whole)], 'as an Erlang binary');
});

function writeTemp(text: string, escape: Escape, data: SecretData): string {
  const file = join(mkdtempSync(join(tmpdir(), 'helpers-')), 'x.config');
  writeFileSync(file, render(text, escape, data));
  return file;
}

t.test('helper misuse is a template error at parse time', async (t) => {
  const cases: Array<[string, string]> = [
    ['{{#default}}{{db.port}}{{/default}}', '{{#default}} must hold one tag, "|" and the text to write when the key is absent'],
    ['{{#default}}5432|{{db.port}}{{/default}}', '{{#default}} must hold one tag'],
    ['{{#default}}{{db.port}}|{{db.host}}{{/default}}', '{{#default}} must hold one tag'],
    ['{{#json}}{{#base64decode}}{{db.x}}{{/base64decode}}{{/json}}', '{{#json}} must hold one tag'],
    ['{{#base64decode}}{{db}}{{/base64decode}}', '"db" names no key'],
    ['{{#base64decode}}x{{db.k}}{{/base64decode}}', '{{#base64decode}} must hold exactly one value'],
    ['{{#json}}{{9db}}{{/json}}', '"9db" names no key'],
  ];
  assertTemplateRejections(t, cases, LABEL);
  const refs = parseTemplate('{{#default}}{{db.port}}|1{{/default}}{{#json}}{{db}}{{/json}}', LABEL).references;
  t.same(refs, [
    { secret: 'db', key: 'port', line: 1, raw: false, optional: true },
    { secret: 'db', key: undefined, line: 1, raw: false },
  ]);
});

t.test('derived values are registered with the log scrubber', async (t) => {
  forgetSecretValues();
  render('{{#base64decode}}{{tls.key}}{{/base64decode}} {{#base64encode}}{{tls.plain}}{{/base64encode}}');
  const { logger, text } = memoryLogger();
  logger.info({ a: DECODED, b: b64(PLAIN) }, `oops ${DECODED} ${b64(PLAIN)}`);
  assertNoLeak(t, text(), [DECODED, b64(PLAIN)]);
  t.match(text(), '[REDACTED]');
});

t.test('through the CLI: each helper renders, an optional key may be absent, bad base64 exits 3; no value in any output', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'helpers-cli-'));
  const good = { key: b64(DECODED), plain: PLAIN };
  const config = (secret: Record<string, string>, template: string, destination = 'app.env') => {
    writeFileSync(join(dir, 'tls.json'), JSON.stringify(secret));
    writeFileSync(join(dir, 't.mustache'), template);
    const cfg = join(dir, 'agent.yaml');
    writeFileSync(
      cfg,
      `providers:\n  local: { type: file, path: . }\nsecrets:\n  tls:\n    provider: local\n    require: { key: {}, plain: {}, port: { optional: true } }\noutput: { root: ./out }\ntemplates:\n  - source: t.mustache\n    destination: ${destination}\ninit: { timeout: 5s }\n`,
    );
    return cfg;
  };
  const values = [DECODED, PLAIN, b64(PLAIN), good.key];
  const run = await runCli(
    ['init', '-c', config(good, 'K={{#base64decode}}{{tls.key}}{{/base64decode}}\nE={{#base64encode}}{{tls.plain}}{{/base64encode}}\nP={{#default}}{{tls.port}}|5432{{/default}}\nJ={{#json}}{{tls}}{{/json}}\n'), '--log-level', 'trace'],
  );
  t.equal(run.code, 0, run.stderr);
  t.same(dotenv.parse(readFileSync(join(dir, 'out', 'app.env'))), { K: DECODED, E: b64(PLAIN), P: '5432', J: JSON.stringify({ key: good.key, plain: PLAIN }) });
  assertNoLeak(t, [run.stdout, run.stderr], values);

  const check = await runCli(['check', '-c', config(good, 'P={{#default}}{{tls.undeclared}}|1{{/default}}\n')]);
  t.equal(check.code, 2, 'an undeclared key is a template error even with a default');
  t.match(check.stderr, 'secret \\"tls\\" declares no key \\"undeclared\\"');

  const bad = await runCli(['init', '-c', config({ key: `${PLAIN}!`, plain: PLAIN }, 'K={{#base64decode}}{{tls.key}}{{/base64decode}}\n')]);
  t.equal(bad.code, 3, bad.stderr);
  t.match(bad.stderr, 'the value of tls.key is not valid base64');
  assertNoLeak(t, [bad.stdout, bad.stderr], values);
});
