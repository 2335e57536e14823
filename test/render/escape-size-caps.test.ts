// Every escaper at the largest value a provider can hand over, with the
// content that hurts most (all quote kinds, backslashes, U+2028/U+2029, NUL,
// CR/LF, "#", astral characters): the work must grow linearly with the value
// (a bound generous enough for a loaded machine, far below what a quadratic
// escaper needs at 8 MiB), and what is written must read back exactly.
//
// Caps: Azure Key Vault values are at most 25 KiB, AWS Secrets Manager and
// GCP Secret Manager 64 KiB, the file provider reads at most 8 MiB
// (agent/providers/file/read-file.ts), and Vault bodies at most 32 MiB
// (agent/providers/vault/transport.ts MAX_BODY_BYTES).

import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dotenv from 'dotenv';
import YAML from 'yaml';
import { escapeValue, type Escaped } from '../../agent/render/index.ts';
import type { Escape } from '../../agent/config/schema.ts';
import { stripsQuotes } from '../../agent/render/escapers/dotenv.ts';
import { consultErlang } from '../helpers/erlang-consult.ts';
import { sourceInShell } from '../helpers/shell-source.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const CAPS: ReadonlyArray<[string, number]> = [
  ['Azure Key Vault (25 KiB)', 25 * KiB],
  ['AWS and GCP Secret Manager (64 KiB)', 64 * KiB],
  ['file provider (8 MiB)', 8 * MiB],
  ['Vault body (32 MiB)', 32 * MiB],
];
/** real consumers run in another process; above this they take minutes */
const EXTERNAL_READ_MAX = 64 * KiB;

t.setTimeout(15 * 60_000);

/** `pattern` repeated to exactly `bytes` bytes of UTF-8 (cut on a character boundary, then padded with "z") */
function ofBytes(pattern: string, bytes: number, prefix = '', suffix = ''): string {
  const unit = Buffer.byteLength(pattern);
  let v = prefix + pattern.repeat(Math.floor((bytes - Buffer.byteLength(prefix + suffix)) / unit));
  v += 'z'.repeat(bytes - Buffer.byteLength(v + suffix));
  return v + suffix;
}

/** CPU milliseconds a linear escaper may spend on `bytes`: 5 s plus 2 s per
 * MiB, several times what each needs (the 32 MiB json value takes ~2 s).
 * CPU time, not wall time, so other jobs on the machine do not count; a
 * quadratic escaper needs hours at 8 MiB. */
function allowedCpuMs(bytes: number): number {
  return 5_000 + (2_000 * bytes) / MiB;
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

function timedEscape(t: Test, value: string, escape: Escape, what: string): Escaped {
  const start = process.cpuUsage();
  const r = escapeValue(value, escape);
  const ms = cpuMs(start);
  const allowed = allowedCpuMs(Buffer.byteLength(value));
  t.ok(ms < allowed, `${what}: ${escape} took ${Math.round(ms)} ms of CPU (allowed ${Math.round(allowed)} ms)`);
  return r;
}

const MIXED = "a'b\"c`d\\e\u2028f\u2029g\nh#i \0j\u{1F511}k\r\nl\x7f\u0085m\u00a0\ufeff$(x)";
const NO_NUL = MIXED.replaceAll('\0', '');

t.test('none, json and yaml: mixed hostile content at every cap, read back exactly', async (t) => {
  for (const [cap, bytes] of CAPS) {
    const value = ofBytes(MIXED, bytes);
    t.equal(Buffer.byteLength(value), bytes, `${cap}: value is exactly at the cap`);
    const none = timedEscape(t, value, 'none', cap);
    t.ok(none.ok && none.text === value, `${cap}: none writes the value as it is`);
    const json = timedEscape(t, value, 'json', cap);
    t.ok(json.ok && JSON.parse(json.text) === value, `${cap}: JSON.parse reads the json value back`);
    const yaml = timedEscape(t, value, 'yaml', cap);
    // the yaml package takes ~20 s for a 32 MiB scalar on a loaded machine: read back up to 8 MiB
    if (bytes <= 8 * MiB) t.ok(yaml.ok && (YAML.parse(`v: ${yaml.text}\n`) as { v: string }).v === value, `${cap}: the yaml package reads the yaml value back`);
    else t.ok(yaml.ok && !/[\n\r\u2028\u2029]/.test(yaml.text), `${cap}: yaml written on one line`);
  }
});

t.test('erlang: mixed hostile content at every cap; erl reads it back exactly up to 64 KiB', async (t) => {
  const dir = t.testdir();
  for (const [cap, bytes] of CAPS) {
    const value = ofBytes(MIXED, bytes);
    const r = timedEscape(t, value, 'erlang', cap);
    if (!r.ok) {
      t.fail(`${cap}: refused: ${r.reason}`);
      continue;
    }
    t.match(r.text, /^<<"[\x20-\x7e]*"\/utf8>>$/, `${cap}: one ASCII binary literal`);
    if (bytes <= EXTERNAL_READ_MAX) {
      const file = join(dir, `v${bytes}.config`);
      writeFileSync(file, `${r.text}.\n`);
      t.same(consultErlang(file)[0], Buffer.from(value, 'utf8'), `${cap}: file:consult/1 gives back the exact bytes`);
    }
  }
});

t.test('shell: hostile content at every cap; bash reads it back up to 64 KiB, and a NUL is refused in linear time', async (t) => {
  const dir = t.testdir();
  for (const [cap, bytes] of CAPS) {
    const value = ofBytes(NO_NUL, bytes);
    const r = timedEscape(t, value, 'shell', cap);
    if (!r.ok) {
      t.fail(`${cap}: refused: ${r.reason}`);
      continue;
    }
    if (bytes <= EXTERNAL_READ_MAX) {
      const file = join(dir, `v${bytes}.sh`);
      writeFileSync(file, `V=${r.text}\n`);
      t.equal(sourceInShell(file, ['V']).V, value, `${cap}: bash gives back the exact value`);
    } else t.equal(r.text.slice(1, -1).replaceAll(`'\\''`, "'"), value, `${cap}: undoing the '\\'' quoting gives the value`);
    const nul = timedEscape(t, ofBytes(MIXED, bytes), 'shell', `${cap} with NUL`);
    t.notOk(nul.ok, `${cap}: a value with NUL is refused`);
  }
});

// The value of issue 11: all three quotes, each followed by U+2028, then many
// "lines" that start with a quote. Written bare; the old check for dotenv's
// quote stripping backtracked over the rest of the value at every line.
const DOTENV_BARE_PREFIX = "x'\u2028\"\u2028`\u2028";
const DOTENV_BARE_UNIT = "'a\u2028";
// all three quotes and backslashes, each quote after a backslash: written '...'
const DOTENV_QUOTED_UNIT = "\\'\\\"\\`a\u2028b\u2029 c#d\ne";

t.test('dotenv: the hostile shapes at every cap, in linear time; dotenv reads them back', async (t) => {
  for (const [cap, bytes] of CAPS) {
    const bare = ofBytes(DOTENV_BARE_UNIT, bytes, DOTENV_BARE_PREFIX, 'z');
    const b = timedEscape(t, bare, 'dotenv', `${cap} bare`);
    t.ok(b.ok && b.text === bare, `${cap}: the separator-lines value is written bare`);
    // dotenv's own parsers are quadratic on this shape: read back only where they finish
    if (b.ok && bytes <= 25 * KiB) t.equal(dotenv.parse(`V=${b.text}\n`).V, bare, `${cap}: dotenv reads the bare value back`);

    const quoted = ofBytes(DOTENV_QUOTED_UNIT, bytes);
    const q = timedEscape(t, quoted, 'dotenv', `${cap} quoted`);
    t.ok(q.ok, `${cap}: the escaped-quotes value is written`);
    if (q.ok && bytes <= 8 * MiB) {
      for (const fast of [false, true]) t.equal(dotenv.parse(`V=${q.text}\nW='#'\n`, { fast }).V, quoted, `${cap}: dotenv (fast: ${fast}) reads it back`);
    }

    const refused = timedEscape(t, ofBytes(MIXED, bytes), 'dotenv', `${cap} unwritable`);
    t.notOk(refused.ok, `${cap}: all quotes with "#" and newlines is refused`);
  }
});

t.test('every mode refuses a lone surrogate at the end of a 32 MiB value, in linear time', async (t) => {
  const value = `${ofBytes(NO_NUL, 32 * MiB - 3)}\ud800`;
  for (const escape of ['none', 'dotenv', 'shell', 'json', 'yaml', 'erlang'] as const) {
    t.notOk(timedEscape(t, value, escape, 'lone surrogate').ok, `${escape}: refused`);
  }
});

t.test("stripsQuotes agrees with dotenv's own quote-stripping regex (seeded random short values)", async (t) => {
  const rand = seededRandom(1111);
  const alphabet = ["'", '"', '`', 'a', '\u2028', '\u2029', '\n', '\r', ' '];
  let agreed = 0;
  const CASES = 3000;
  for (let i = 0; i < CASES; i++) {
    let v = '';
    const len = Math.floor(rand() * 10);
    for (let j = 0; j < len; j++) v += alphabet[Math.floor(rand() * alphabet.length)];
    const byRegex = v.replace(/^(['"`])([\s\S]*)\1$/gm, '$2') !== v;
    if (stripsQuotes(v) === byRegex) agreed++;
    else t.fail(`disagree on ${JSON.stringify(v)}: regex ${byRegex}`);
  }
  t.equal(agreed, CASES);
});
