// Property tests of the external term format against a real node.
//   TS -> Erlang -> TS: random terms encoded in TS, decoded and re-encoded by
//     binary_to_term/term_to_binary, decoded in TS: must equal the original.
//   Erlang -> TS -> Erlang: random terms from term_to_binary (compressed,
//     minor_version 0, funs, local pids, refs, ports, big maps), decoded and
//     re-encoded in TS, decoded by Erlang: must be =:= to the original.
// The helper module (erldist_roundtrip.erl next to this file) is compiled with
// erlc into a temp dir. Seeds are fixed and printed on failure.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ErlDistClient } from '../../agent/erldist/client.ts';
import { decodeTerm } from '../../agent/erldist/etf-decode.ts';
import { encodeTerm } from '../../agent/erldist/etf-encode.ts';
import { formatTerm } from '../../agent/erldist/format.ts';
import { atom, isAtom, termEquals, type Term } from '../../agent/erldist/terms.ts';
import { ErlangNodes, uniqueName } from '../helpers/erlang-node.ts';
import { TermGenerator } from '../helpers/random-erlang-terms.ts';

const COOKIE = 'roundtrip-cookie';
const SEED = 20261129;
const COUNT = 400;
const BATCH = 50;

const ebin = mkdtempSync(join(tmpdir(), 'erldist-ebin-'));
t.teardown(() => rmSync(ebin, { recursive: true, force: true }));
execFileSync('erlc', ['-o', ebin, join(import.meta.dirname, 'erldist_roundtrip.erl')], { stdio: 'pipe' });

const nodes = await ErlangNodes.forTest(t);
const node = await nodes.start({ sname: uniqueName('roundtrip'), cookie: COOKIE, codePaths: [ebin] });
const client = new ErlDistClient({ node: node.node, cookie: COOKIE, epmdPort: nodes.epmdPort, callTimeoutMs: 60_000 });
t.teardown(() => client.close());

function asBinaries(t: Term): Buffer[] {
  if (!Array.isArray(t) || !t.every((b) => b instanceof Uint8Array)) throw new Error(`expected a list of binaries, got ${formatTerm(t).slice(0, 200)}`);
  return t.map((b) => Buffer.from(b as Uint8Array));
}

t.test(`TS -> Erlang -> TS: ${COUNT} random terms (seed ${SEED})`, async (t) => {
  const gen = new TermGenerator(SEED, { opaque: true, maxDepth: 4 });
  const terms = Array.from({ length: COUNT }, () => gen.term());
  let mismatches = 0;
  for (let start = 0; start < COUNT; start += BATCH) {
    const batch = terms.slice(start, start + BATCH);
    const echoed = asBinaries(await client.call('erldist_roundtrip', 'reencode_all', [batch.map(encodeTerm)]));
    t.equal(echoed.length, batch.length);
    echoed.forEach((bin, i) => {
      const original = batch[i] as Term;
      const back = decodeTerm(bin);
      if (!termEquals(original, back)) {
        mismatches++;
        t.fail(`term ${start + i} (seed ${SEED}) changed: sent ${formatTerm(original)} got ${formatTerm(back)}`);
      }
    });
  }
  t.equal(mismatches, 0, `all ${COUNT} terms came back equal`);
});

t.test('TS -> Erlang -> TS inside distribution messages (rpc arguments and result)', async (t) => {
  const gen = new TermGenerator(SEED + 1, { opaque: true, maxDepth: 3 });
  const terms = Array.from({ length: 200 }, () => gen.term());
  const reversed = await client.call('lists', 'reverse', [terms]);
  t.ok(Array.isArray(reversed));
  const back = (reversed as Term[]).slice().reverse();
  const bad = back.findIndex((x, i) => !termEquals(x, terms[i] as Term));
  t.equal(bad, -1, bad === -1 ? 'all 200 equal' : `term ${bad} differs: ${formatTerm(terms[bad] as Term)} vs ${formatTerm(back[bad] as Term)}`);
});

t.test(`Erlang -> TS -> Erlang: ${COUNT} random terms`, async (t) => {
  let checked = 0;
  for (let batch = 0; batch < COUNT / BATCH; batch++) {
    const originals = asBinaries(await client.call('erldist_roundtrip', 'random_terms', [SEED + batch, BATCH]));
    const ours = originals.map((bin) => encodeTerm(decodeTerm(bin)));
    const verdict = await client.call('erldist_roundtrip', 'compare_all', [originals, ours]);
    if (!isAtom(verdict, 'ok')) t.fail(`batch ${batch} (seed ${SEED + batch}): ${formatTerm(verdict).slice(0, 2000)}`);
    checked += originals.length;
  }
  t.equal(checked, COUNT, `Erlang confirmed ${COUNT} TS re-encodings are =:= to its originals`);
});

t.test('what Erlang sends decodes to the right TS values', async (t) => {
  // Values made on the node, decoded here and formatted: compared with the node's own ~tp.
  const samples: Array<[string, Term[]]> = [
    ['erlang:list_to_atom', [[...'ümlaut'].map((c) => c.codePointAt(0) as number)]],
    ['erlang:float', [3]],
    ['erlang:list_to_binary', [[104, 105]]],
    ['erlang:make_tuple', [3, atom('x')]],
    ['erlang:list_to_atom', [[...'Quoted atom'].map((c) => c.codePointAt(0) as number)]],
    ['erlang:binary_to_list', [Buffer.from('a "quoted" string\n')]],
    ['erlang:list_to_tuple', [[-5, 2n ** 70n, 1.5e300, Buffer.from([0, 255])]]],
  ];
  for (const [mf, args] of samples) {
    const [m, f] = mf.split(':') as [string, string];
    const value = await client.call(m, f, args);
    const printed = await client.call('io_lib', 'format', [[...'~tp'].map((c) => c.codePointAt(0) as number), [value]]);
    const flat = await client.call('lists', 'flatten', [printed]);
    // ~tp breaks long terms over lines; the content is what we compare.
    const erlangText = String.fromCodePoint(...(flat as number[])).replace(/\n\s*/g, '');
    t.equal(formatTerm(value), erlangText, `${mf}: our formatting matches io_lib:format("~tp")`);
  }
});
