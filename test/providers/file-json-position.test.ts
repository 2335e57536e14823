import t from 'tap';
import { jsonErrorOffset, positionOf } from '../../agent/providers/file/json-error-position.ts';

const valid = ['{}', '[]', '""', '0', '-0.5e+10', 'true', 'null', ' {"a": [1, 2, {"b": "c\\u00e9\\n"}], "d": false} ', '"\\"\\\\\\/\\b\\f\\n\\r\\t"', '[[[[]]]]'];
const invalid: Array<[string, number]> = [
  ['', 0],
  ['{', 1],
  ['{"a" 1}', 5],
  ['{"a": 1,}', 8],
  ['{"a": 01}', 7],
  ['[1 2]', 3],
  ['{"a": tru}', 6],
  ['{"a": "x\ny"}', 8],
  ['{"a": "\\x"}', 8],
  ['{"a": "\\u12g4"}', 11],
  ['{a: 1}', 1],
  ["{'a': 1}", 1],
  ['{"a": 1} x', 9],
  ['[1,]', 3],
  ['{"a": -}', 7],
  ['{"a": 1.}', 8],
  ['{"a": 1e}', 8],
  ['{"a": 1e+}', 9],
  ['"abc', 4],
];

t.test('valid JSON is -1, and agrees with JSON.parse', async (t) => {
  for (const text of valid) {
    t.doesNotThrow(() => JSON.parse(text), `JSON.parse accepts ${text}`);
    t.equal(jsonErrorOffset(text), -1, text);
  }
});

t.test('invalid JSON: the offset of the first error, and JSON.parse agrees it is invalid', async (t) => {
  for (const [text, offset] of invalid) {
    t.throws(() => JSON.parse(text), `JSON.parse rejects ${JSON.stringify(text)}`);
    t.equal(jsonErrorOffset(text), offset, JSON.stringify(text));
  }
});

t.test('where V8 reports a position, ours is the same', async (t) => {
  let compared = 0;
  for (const [text] of invalid) {
    try {
      JSON.parse(text);
    } catch (e) {
      const m = /at position (\d+)/.exec((e as Error).message);
      if (!m) continue;
      compared++;
      t.equal(jsonErrorOffset(text), Number(m[1]), JSON.stringify(text));
    }
  }
  t.ok(compared >= 3, `compared ${compared} positions with V8`);
});

t.test('nesting too deep to scan is undefined, not a crash', async (t) => {
  t.equal(jsonErrorOffset('['.repeat(200_000)), undefined);
});

t.test('positionOf: 1-based line and column', async (t) => {
  const text = '{\n  "a": 1,\n  "b": x\n}';
  t.same(positionOf(text, 0), { line: 1, column: 1 });
  t.same(positionOf(text, text.indexOf('x')), { line: 3, column: 8 });
  t.same(positionOf(text, jsonErrorOffset(text)!), { line: 3, column: 8 });
});
