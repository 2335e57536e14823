// The suite runner's report: failures by full name (file > subtest >
// assertion) without their failing parents, skips with their reasons, and
// tap's totals.

import t from 'tap';
// @ts-expect-error: a plain .mjs module (the runner runs without TypeScript)
import { parseTapLine, SuiteTally } from './tap-tally.mjs';

const TAP = `# Subtest: test/a.test.ts
    # Subtest: group
        ok 1 - fine
        not ok 2 - should be equal
          ---
          at: x
          ...
        1..2
    not ok 1 - group # time=3ms
    ok 2 - later one # SKIP needs root to switch users
    1..2
not ok 1 - test/a.test.ts # time=10ms

# Subtest: test/b.test.ts
    ok 1 - works
    1..1
ok 2 - test/b.test.ts # time=2ms

# Subtest: test/c.test.ts
    1..0 # no tests
not ok 3 - test/c.test.ts # time=5ms

not ok 4 - timeout!
  ---
  expired: test/d.test.ts
  ...

# { total: 5, pass: 2, fail: 2, skip: 1 }
`;

t.test('failures by full name, leaves only; skips with reasons; totals', async (t) => {
  const tally = new SuiteTally();
  const files: { name: string; ok: boolean }[] = [];
  TAP.split('\n').forEach((line, i) => {
    const e = tally.add(parseTapLine(line), i + 1);
    if (e) files.push({ name: e.name, ok: e.ok });
  });
  t.same(files, [
    { name: 'test/a.test.ts', ok: false },
    { name: 'test/b.test.ts', ok: true },
    { name: 'test/c.test.ts', ok: false },
    { name: 'timeout!', ok: false },
  ]);
  const r = tally.report();
  t.same(r.failed.map((f: { path: string[] }) => f.path.join(' > ')), ['test/a.test.ts > group > should be equal', 'test/c.test.ts', 'test/d.test.ts > timeout! (the whole file)'], 'a file timeout is named by its file');
  t.equal(r.failed[0].line, 4, 'points at the line in the log');
  t.same(r.skipped, [{ path: ['test/a.test.ts', 'later one'], reason: 'needs root to switch users' }]);
  t.same(r.totals, { type: 'totals', total: 5, pass: 2, fail: 2, skip: 1, todo: 0 });
});

t.test('no totals line means tap never ran (build or typecheck failed)', async (t) => {
  const tally = new SuiteTally();
  tally.add(parseTapLine('src/x.ts(1,1): error TS2322'), 1);
  t.equal(tally.report().totals, undefined);
});
