// External term format in TS alone: byte layouts from the ETF specification,
// legacy encodings only older encoders produce, and every way bad input is
// refused. (Round trips through a real node: roundtrip.test.ts.)

import { deflateSync } from 'node:zlib';
import t from 'tap';
import { ErlDistError } from '../../agent/erldist/errors.ts';
import { decodeTerm } from '../../agent/erldist/etf-decode.ts';
import { encodeTerm } from '../../agent/erldist/etf-encode.ts';
import {
  atom,
  BitBinary,
  ErlExport,
  ErlFloat,
  ErlMap,
  ImproperList,
  Pid,
  Port,
  Ref,
  termEquals,
  Tuple,
  type Term,
} from '../../agent/erldist/terms.ts';
import { TermGenerator } from '../helpers/random-erlang-terms.ts';

const bytes = (...xs: Array<number | string>): Buffer =>
  Buffer.concat(xs.map((x) => (typeof x === 'number' ? Buffer.from([x]) : Buffer.from(x, 'latin1'))));

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof ErlDistError ? `${e.kind}: ${e.message}` : `other: ${String(e)}`;
  }
  return 'no error';
}

t.test('encodings match the ETF specification', async (t) => {
  const cases: Array<[Term, Buffer]> = [
    [1, bytes(131, 97, 1)],
    [256, bytes(131, 98, 0, 0, 1, 0)],
    [-1, bytes(131, 98, 255, 255, 255, 255)],
    [2n ** 64n, bytes(131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)],
    [-(2n ** 31n) - 1n, bytes(131, 110, 4, 1, 1, 0, 0, 128)],
    [new ErlFloat(1.5), bytes(131, 70, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0)],
    [0.25, bytes(131, 70, 0x3f, 0xd0, 0, 0, 0, 0, 0, 0)],
    [atom('ok'), bytes(131, 119, 2, 'ok')],
    [true, bytes(131, 119, 4, 'true')],
    [Buffer.from('hi'), bytes(131, 109, 0, 0, 0, 2, 'hi')],
    ['hé', bytes(131, 109, 0, 0, 0, 3, 'h', 0xc3, 0xa9)],
    [new BitBinary(Buffer.from([0xe0]), 3), bytes(131, 77, 0, 0, 0, 1, 3, 0xe0)],
    [[104, 105], bytes(131, 107, 0, 2, 'hi')],
    [[], bytes(131, 106)],
    [[atom('a'), 300], bytes(131, 108, 0, 0, 0, 2, 119, 1, 'a', 98, 0, 0, 1, 44, 106)],
    [new ImproperList([1], atom('t')), bytes(131, 108, 0, 0, 0, 1, 97, 1, 119, 1, 't')],
    [new Tuple([1, 2]), bytes(131, 104, 2, 97, 1, 97, 2)],
    [new ErlMap([[atom('k'), 1]]), bytes(131, 116, 0, 0, 0, 1, 119, 1, 'k', 97, 1)],
    [new Pid(atom('n@h'), 1, 2, 3), bytes(131, 88, 119, 3, 'n@h', 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3)],
    [new Ref(atom('n@h'), 3, [1, 2, 3]), bytes(131, 90, 0, 3, 119, 3, 'n@h', 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3)],
    [new Port(atom('n@h'), 5n, 3), bytes(131, 89, 119, 3, 'n@h', 0, 0, 0, 5, 0, 0, 0, 3)],
    [new Port(atom('n@h'), 2n ** 40n, 3), bytes(131, 120, 119, 3, 'n@h', 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3)],
    [new ErlExport(atom('m'), atom('f'), 2), bytes(131, 113, 119, 1, 'm', 119, 1, 'f', 97, 2)],
  ];
  for (const [term, expected] of cases) {
    t.same([...encodeTerm(term)], [...expected], `encode ${expected.subarray(1, 2).toString('hex')}`);
    t.ok(termEquals(decodeTerm(expected), term), 'and decode back');
  }
  const longAtom = 'x'.repeat(200) + 'é'.repeat(50);
  const enc = encodeTerm(atom(longAtom));
  t.equal(enc[1], 118, 'an atom over 255 bytes uses ATOM_UTF8_EXT');
  t.strictSame(decodeTerm(enc), atom(longAtom));
  const bigBin = 2n ** 2100n;
  t.equal(encodeTerm(bigBin)[1], 111, 'integers over 255 bytes use LARGE_BIG_EXT');
  t.equal(decodeTerm(encodeTerm(-bigBin)), -bigBin);
});

t.test('legacy encodings decode', async (t) => {
  t.strictSame(decodeTerm(bytes(131, 100, 0, 2, 'ok')), atom('ok'), 'ATOM_EXT');
  t.strictSame(decodeTerm(bytes(131, 115, 3, 'caf', )), atom('caf'), 'SMALL_ATOM_EXT');
  t.strictSame(decodeTerm(bytes(131, 100, 0, 4, 'caf', 0xe9)), atom('café'), 'ATOM_EXT is Latin-1');
  const floatText = '1.50000000000000000000e+00';
  const f = decodeTerm(bytes(131, 99, floatText.padEnd(31, '\0')));
  t.ok(f instanceof ErlFloat && f.value === 1.5, 'FLOAT_EXT (31-byte text)');
  const pid = decodeTerm(bytes(131, 103, 100, 0, 3, 'n@h', 0, 0, 0, 1, 0, 0, 0, 2, 3));
  t.ok(termEquals(pid, new Pid(atom('n@h'), 1, 2, 3)), 'PID_EXT');
  const ref = decodeTerm(bytes(131, 114, 0, 2, 100, 0, 3, 'n@h', 1, 0, 0, 0, 7, 0, 0, 0, 8));
  t.ok(termEquals(ref, new Ref(atom('n@h'), 1, [7, 8])), 'NEW_REFERENCE_EXT');
  const oldRef = decodeTerm(bytes(131, 101, 100, 0, 3, 'n@h', 0, 0, 0, 9, 2));
  t.ok(termEquals(oldRef, new Ref(atom('n@h'), 2, [9])), 'REFERENCE_EXT');
  const port = decodeTerm(bytes(131, 102, 100, 0, 3, 'n@h', 0, 0, 0, 4, 1));
  t.ok(termEquals(port, new Port(atom('n@h'), 4n, 1)), 'PORT_EXT');
  const inner = encodeTerm(new Tuple([atom('compressed'), Buffer.alloc(100, 7)])).subarray(1);
  const z = deflateSync(inner);
  const size = Buffer.alloc(4);
  size.writeUInt32BE(inner.length, 0);
  const compressed = decodeTerm(Buffer.concat([bytes(131, 80), size, z]));
  t.ok(termEquals(compressed, new Tuple([atom('compressed'), Buffer.alloc(100, 7)])), 'compressed terms (tag 80)');
});

t.test('bad input is refused with a reason', async (t) => {
  const cases: Array<[Buffer, RegExp]> = [
    [bytes(), /needs 1 more byte/],
    [bytes(130, 97, 1), /expected version byte 131, found 130/],
    [bytes(131, 98, 0, 0), /needs 4 more byte/],
    [bytes(131, 97, 1, 0), /1 trailing byte/],
    [bytes(131, 200), /unknown tag 200/],
    [bytes(131, 121, 1, 2, 3), /LOCAL_EXT terms can only be decoded by the node that made them/],
    [bytes(131, 82, 0), /ATOM_CACHE_REF 0 without a distribution header/],
    [bytes(131, 108, 0xff, 0xff, 0xff, 0xff), /needs 4294967295 more byte/],
    [bytes(131, 77, 0, 0, 0, 1, 9, 0), /bit binary with 1 bytes and 9 tail bits/],
    [bytes(131, 90, 0, 9, 119, 1, 'n'), /reference with 9 id words/],
    [bytes(131, 80, 0, 0, 0, 9, 1, 2, 3), /compressed term does not inflate/],
    [bytes(131, 88, 97, 1), /expected an atom/],
  ];
  for (const [input, why] of cases) {
    const msg = errorOf(() => decodeTerm(input));
    t.match(msg, /^decode: invalid external term format at byte \d+: /, `refused: ${input.toString('hex')}`);
    t.match(msg, why);
  }
  let deep: Buffer = bytes(106);
  for (let i = 0; i < 3_000; i++) deep = Buffer.concat([bytes(104, 1), deep]);
  t.match(errorOf(() => decodeTerm(Buffer.concat([bytes(131), deep]))), /nested deeper than 1000/, 'deep nesting is refused, not a stack overflow');
});

t.test('terms that cannot be encoded are refused with where and why', async (t) => {
  t.match(errorOf(() => encodeTerm(Number.NaN)), /^encode: .*NaN is not a finite number/);
  t.match(errorOf(() => encodeTerm(new Tuple([1, [new ErlFloat(Infinity)]]))), /at \{1\}\[0\]: Infinity/);
  t.match(errorOf(() => encodeTerm(atom('a'.repeat(256)))), /atom has 256 characters; Erlang allows at most 255/);
  t.match(errorOf(() => encodeTerm(null as unknown as Term)), /null has no Erlang equivalent/);
  t.match(errorOf(() => encodeTerm({ x: 1 } as unknown as Term)), /Object object has no Erlang equivalent/);
  t.match(errorOf(() => encodeTerm(new Ref(atom('n@h'), 1, []))), /1 to 5 id words/);
  t.match(errorOf(() => encodeTerm(new Pid(atom('n@h'), -1, 0, 0))), /pid id -1 is not a 32-bit unsigned integer/);
});

t.test('JS conveniences: safe integers, floats, strings, booleans', async (t) => {
  t.equal(decodeTerm(encodeTerm(2 ** 53 - 1)), 2 ** 53 - 1, 'safe integers stay numbers');
  t.equal(decodeTerm(encodeTerm(2n ** 53n)), 2n ** 53n, 'beyond: bigint');
  const f = decodeTerm(encodeTerm(1e300));
  t.ok(f instanceof ErlFloat && f.value === 1e300, 'a JS number beyond 2^53 is a float');
  const three = decodeTerm(encodeTerm(new ErlFloat(3)));
  t.ok(three instanceof ErlFloat && three.value === 3, '3.0 stays a float');
  t.ok(termEquals(decodeTerm(encodeTerm('text')), Buffer.from('text')), 'a JS string is a binary');
  t.strictSame(decodeTerm(encodeTerm(false)), atom('false'));
  t.ok(termEquals(new ErlMap([[1, 2], [atom('a'), 3]]), new ErlMap([[atom('a'), 3], [1, 2]])), 'map equality ignores order');
  t.notOk(termEquals(new ErlFloat(0), new ErlFloat(-0)), '0.0 and -0.0 differ on the wire');
  t.notOk(termEquals(1, new ErlFloat(1)), '1 is not 1.0');
});

t.test('TS-only round trip of 500 random terms', async (t) => {
  const gen = new TermGenerator(4242, { opaque: true, maxDepth: 4 });
  let bad = 0;
  for (let i = 0; i < 500; i++) {
    const term = gen.term();
    if (!termEquals(decodeTerm(encodeTerm(term)), term)) bad++;
  }
  t.equal(bad, 0);
});

t.test('nesting up to the limit decodes', async (t) => {
  let deep: Term = [];
  for (let i = 0; i < 990; i++) deep = new Tuple([deep]);
  t.ok(termEquals(decodeTerm(encodeTerm(deep)), deep));
  const padding = new BitBinary(Buffer.from([0xff]), 3);
  t.same([...encodeTerm(padding)].slice(-1), [0xe0], 'unused bits of a bitstring are sent as zeros');
});
