// Seeded random and mutated templates through parse and render: the only
// thing that may come out besides a result is a typed AgentError ('template'
// from parsing; 'template' or 'validation' from rendering). No other
// exception, no hang (a per-case time bound), no unbounded memory (heap
// growth bounded after thousands of cases, some near the size limit).

import t from 'tap';
import { parseTemplate, renderTemplate, MAX_TEMPLATE_BYTES, type ParsedTemplate, type SecretData } from '../../agent/render/index.ts';
import type { Escape } from '../../agent/config/schema.ts';
import { AgentError } from '../../agent/errors.ts';
import { seededRandom } from '../helpers/seeded-random.ts';
import { HOSTILE_VALUES } from '../helpers/hostile-values.ts';

const CASES = 3000;
const ESCAPES: readonly Escape[] = ['none', 'dotenv', 'shell', 'json', 'yaml', 'erlang'];
const SECTIONS = ['erl.integer', 'erl.atom', 'erl.string', 'erl.binary', 'base64decode', 'base64encode', 'default', 'json', 'db', 'x', ''];
const VALUES = [...Object.values(HOSTILE_VALUES), '5432', '-1', 'QUJD', 'eyJhIjoxfQ==', 'a'.repeat(300), '\ud800', 'x\0y'];

type Rand = () => number;
const pick = <T>(rand: Rand, list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;

function fragment(rand: Rand): string {
  const section = pick(rand, SECTIONS);
  const pieces = [
    () => pick(rand, ['A=', '\n', ' ', '|', '|5432', '"', "'", '<<', '{', '}', '#', 'é', '\u2028', '\0', '\ud800']),
    () => '{{db.password}}',
    () => '{{{db.port}}}',
    () => '{{& db.user}}',
    () => '{{db}}',
    () => `{{#${section}}}`,
    () => `{{/${section}}}`,
    () => `{{^${section}}}`,
    () => '{{> partial}}',
    () => '{{! comment }}',
    () => '{{=<% %>=}}',
    () => '<%db.password%>',
    () => '<%={{ }}=%>',
    () => '{{=| |=}}',
    () => pick(rand, ['{{', '}}', '}}}', '{{{', '{{#', '{{/', '{{=', '=}}', '{{&']),
    () => `{{${'x'.repeat(1 + Math.floor(rand() * 5000))}}}`,
    () => `${'{{#json}}'.repeat(1 + Math.floor(rand() * 40))}{{db}}${'{{/json}}'.repeat(1 + Math.floor(rand() * 40))}`,
    () => `{{#${section}}}{{db.port}}${pick(rand, ['', '|1', ' ', '{{db.user}}'])}{{/${section}}}`,
  ];
  return pick(rand, pieces)();
}

function randomTemplate(rand: Rand): string {
  let out = '';
  const n = Math.floor(rand() * 30);
  for (let i = 0; i < n; i++) out += fragment(rand);
  return out;
}

const VALID = [
  'PORT={{#erl.integer}}{{db.port}}{{/erl.integer}}\n',
  '{cookie, {{#erl.atom}}{{db.user}}{{/erl.atom}}}.\n{{#erl.string}}{{db.password}}{{/erl.string}}',
  'K={{#base64decode}}{{db.key}}{{/base64decode}}\nE={{#base64encode}}{{db.password}}{{/base64encode}}\n',
  'P={{#default}}{{db.port}}|5432{{/default}} J={{#json}}{{db}}{{/json}}\n',
  '{{=<% %>=}}\nA=<% db.password %>\n<%={{ }}=%>B={{{db.user}}}\n',
];

/** a valid template with a random slice deleted, duplicated or moved */
function mutated(rand: Rand): string {
  let s = pick(rand, VALID);
  const steps = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < steps; i++) {
    const a = Math.floor(rand() * (s.length + 1));
    const b = a + Math.floor(rand() * Math.min(20, s.length - a + 1));
    const slice = s.slice(a, b);
    const at = Math.floor(rand() * (s.length + 1));
    const op = Math.floor(rand() * 3);
    if (op === 0) s = s.slice(0, a) + s.slice(b);
    else if (op === 1) s = s.slice(0, at) + slice + s.slice(at);
    else s = s.slice(0, at) + fragment(rand) + s.slice(at);
  }
  return s;
}

/** a big template near (or past) the size limit */
function huge(rand: Rand): string {
  const unit = pick(rand, ['{{db.password}}', '{{#json}}', '{{/json}}', 'x', '{{! c }}', '{{#erl.integer}}{{db.port}}{{/erl.integer}}']);
  return unit.repeat(Math.floor((MAX_TEMPLATE_BYTES * (0.9 + rand() * 0.2)) / unit.length));
}

function dataFor(parsed: ParsedTemplate, rand: Rand): SecretData {
  const data: Record<string, Record<string, string>> = {};
  for (const r of parsed.references) {
    data[r.secret] ??= {};
    if (r.key !== undefined && rand() < 0.9) data[r.secret]![r.key] = pick(rand, VALUES);
  }
  return data;
}

type Outcome = 'rendered' | 'template' | 'validation';

function runCase(text: string, rand: Rand): Outcome {
  let parsed: ParsedTemplate;
  try {
    parsed = parseTemplate(text, 'fuzz');
  } catch (e) {
    if (e instanceof AgentError && e.code === 'template') return 'template';
    throw e;
  }
  try {
    renderTemplate(parsed, dataFor(parsed, rand), pick(rand, ESCAPES));
    return 'rendered';
  } catch (e) {
    if (e instanceof AgentError && (e.code === 'template' || e.code === 'validation')) return e.code;
    throw e;
  }
}

t.test(`${CASES} seeded random, mutated and huge templates: a result or a typed error, in bounded time and memory`, async (t) => {
  const rand = seededRandom(20261203);
  const counts: Record<Outcome, number> = { rendered: 0, template: 0, validation: 0 };
  const unexpected: string[] = [];
  let slowest = 0;
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < CASES; i++) {
    const kind = i % 50 === 0 ? 'huge' : i % 2 === 0 ? 'random' : 'mutated';
    const text = kind === 'huge' ? huge(rand) : kind === 'random' ? randomTemplate(rand) : mutated(rand);
    const start = process.cpuUsage();
    try {
      counts[runCase(text, rand)]++;
    } catch (e) {
      unexpected.push(`case ${i} (${kind}, ${text.length} chars): ${e instanceof Error ? `${e.name}: ${e.message.slice(0, 200)}` : String(e)}`);
    }
    const used = process.cpuUsage(start);
    slowest = Math.max(slowest, (used.user + used.system) / 1000);
  }
  t.same(unexpected, [], 'no exception other than a template or validation AgentError');
  t.ok(slowest < 5_000, `the slowest case took ${Math.round(slowest)} ms of CPU (bound 5000 ms)`);
  t.ok(counts.rendered > CASES / 20 && counts.template > CASES / 4, `every outcome occurs: ${JSON.stringify(counts)}`);
  globalThis.gc?.();
  const grown = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
  t.ok(grown < 200, `heap grew by ${Math.round(grown)} MiB over all cases (bound 200 MiB)`);
});
