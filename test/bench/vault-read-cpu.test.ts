// bench/vault-read-cpu.ts runs end to end against a real OpenBao on a tiny
// count and prints its table: both flag sets measured (the image's, with
// --lite-mode, and without), every figure a positive number of microseconds.
// The figures themselves are the bench's business, not this test's.

import t from 'tap';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../helpers/cli.ts';
import { requireBao } from '../helpers/openbao.ts';

t.test('the bench prints a complete table on 1 round of 20 reads', async (t) => {
  requireBao();
  const child = spawn(process.execPath, [path.join(ROOT, 'bench/vault-read-cpu.ts'), '--rounds', '1', '--calls', '20'], { cwd: ROOT });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  t.equal(code, 0, out);
  const rows = out.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| node flags'));
  t.same(
    rows.map((r) => r.split('|')[1]!.trim()),
    ['image flags (--lite-mode)', 'without --lite-mode'],
    'one row per flag set',
  );
  for (const r of rows) {
    const m = /\| (\d+) µs \| (\d+) \|$/.exec(r);
    t.ok(m && Number(m[1]) > 0 && m[1] === m[2], `a number of µs, the one process's: ${r}`);
  }
});

t.test('options are checked', async (t) => {
  const child = spawn(process.execPath, [path.join(ROOT, 'bench/vault-read-cpu.ts'), '--rounds', 'x'], { cwd: ROOT });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  t.not(code, 0);
  t.match(err, /--rounds needs a positive whole number/);
});
