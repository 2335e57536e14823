// Property test of the config loader (agent/config/load.ts through
// read-config-file.ts): configs made from the valid ones in the repository
// by mutating bytes, keys, types and nesting, plus random YAML/JSON, with a
// fixed seed so every run checks the same cases and a failure replays. Every
// outcome must be a config or a typed config error (exit 2), never an
// internal error (exit 1) or an uncaught exception, never a hang, and the
// heap must not grow with the number of cases.

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { loadConfigFile } from '../../agent/config/load.ts';
import { exitCodeFor } from '../../agent/cli/exit-codes.ts';
import { AgentError } from '../../agent/errors.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SEEDS = [
  'examples/local/agent.yaml',
  'examples/compose/agent.yaml',
  'examples/compose/agent.vault.yaml',
  'test/fixtures/contract-agent.yaml',
].map((f) => readFileSync(path.join(ROOT, f), 'utf8'));
const CASES = 400;
/** per case; a loader that hangs on some input fails here instead of at tap's timeout */
const CASE_MS = 5_000;

const rand = seededRandom(0x5eedc0f1);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const int = (n: number): number => Math.floor(rand() * n);

const ODD_VALUES: unknown[] = [null, true, 0, -1, 1e308, -0, 3.5, '', ' ', '0s', '-5m', '1e9h', 'NaN', '${HOME}', '..', '/etc/passwd', '\u0000', 'x'.repeat(5000), [], {}, [[[]]], { a: { b: { c: {} } } }, '&anchor', '*alias', '<<', 'SIGKILL', 0o777, 2 ** 53 + 1];
const ODD_KEYS = ['__proto__', 'constructor', 'prototype', '', ' ', 'providers', 'secrets', 'templates', 'type', 'path', 'mode', 'destination', 'source', 'contents', 'root', 'refresh', 'interval', 'timeout', 'listen', 'reload', 'x'.repeat(300), '0', '<<'];
const YAML_NOISE = ['{', '}', '[', ']', ':', '- ', '&a ', '*a', '!!binary ', '!!js/function ', '? ', '|', '>', '"', "'", '#', '\t', '\n  ', '\r', '%YAML 1.1\n', '---\n', '...\n', '\uFEFF', '\u00ff', '\\', '0x', '<<: *a\n'];

/** a mutation of a parsed value: a key renamed or added, a value swapped for another type, a level of nesting added or removed */
function mutateTree(v: unknown, depth = 0): unknown {
  if (depth > 8) return pick(ODD_VALUES);
  if (Array.isArray(v)) {
    if (rand() < 0.2) return pick(ODD_VALUES);
    const copy = v.map((x) => (rand() < 0.3 ? mutateTree(x, depth + 1) : x));
    if (rand() < 0.2) copy.push(pick(ODD_VALUES));
    if (rand() < 0.1) return [copy];
    return copy;
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    const out: Record<string, unknown> = {};
    for (const [k, x] of entries) {
      const r = rand();
      if (r < 0.08) continue; // dropped
      const key = r < 0.14 ? pick(ODD_KEYS) : k;
      Object.defineProperty(out, key, { value: rand() < 0.35 ? mutateTree(x, depth + 1) : x, enumerable: true, configurable: true, writable: true });
    }
    if (rand() < 0.15) out[pick(ODD_KEYS)] = pick(ODD_VALUES);
    if (rand() < 0.05) return { wrapped: out };
    return out;
  }
  return rand() < 0.5 ? pick(ODD_VALUES) : v;
}

function mutateBytes(text: string): string {
  let s = text;
  for (let i = 0, n = 1 + int(8); i < n; i++) {
    const at = int(s.length + 1);
    const r = rand();
    if (r < 0.4) s = s.slice(0, at) + pick(YAML_NOISE) + s.slice(at);
    else if (r < 0.7) s = s.slice(0, at) + s.slice(at + 1 + int(20));
    else if (r < 0.85) s = s.slice(0, at) + String.fromCharCode(int(0x110)) + s.slice(at + 1);
    else s = s.slice(0, at) + s.slice(int(s.length)); // a splice of itself
  }
  return s;
}

function randomConfig(): string {
  const base = pick(SEEDS);
  const r = rand();
  if (r < 0.35) return mutateBytes(base);
  let tree: unknown;
  try {
    tree = parseYaml(base);
  } catch {
    return base;
  }
  const mutated = mutateTree(tree);
  if (r < 0.7) return toYaml(mutated, { aliasDuplicateObjects: false });
  if (r < 0.9) return JSON.stringify(mutated);
  return mutateBytes(JSON.stringify(mutated) ?? 'null');
}

t.test(`${CASES} seeded mutated configs: each is a config or a config error (exit 2), in bounded time and memory`, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'config-fuzz-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'agent.yaml');
  const outcomes = { valid: 0, configError: 0 };
  const wrong: string[] = [];
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < CASES; i++) {
    const text = randomConfig();
    writeFileSync(file, text);
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), CASE_MS)));
    const outcome = await Promise.race([loadConfigFile(file).then(() => 'valid' as const, (e: unknown) => e), hung]);
    clearTimeout(timer);
    if (outcome === 'valid') outcomes.valid++;
    else if (outcome === 'hung') wrong.push(`case ${i}: no answer within ${CASE_MS} ms`);
    else if (outcome instanceof AgentError && exitCodeFor(outcome.code) === 2) outcomes.configError++;
    else wrong.push(`case ${i}: ${outcome instanceof AgentError ? `${outcome.code} (exit ${exitCodeFor(outcome.code)})` : 'uncaught'}: ${String((outcome as Error)?.stack ?? outcome).slice(0, 400)}\n--- input (JSON-quoted) ---\n${JSON.stringify(text).slice(0, 600)}`);
  }
  t.same(wrong, [], 'no internal error, uncaught exception or hang');
  t.ok(outcomes.configError > CASES / 4, `most mutations are refused as config errors (${outcomes.configError})`);
  t.ok(outcomes.valid > 0, `some stay valid configs (${outcomes.valid}): the mutations are not all noise`);
  globalThis.gc?.();
  const grownMiB = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
  t.ok(grownMiB < 64, `heap grew ${grownMiB.toFixed(1)} MiB over ${CASES} cases (bound 64)`);
});
