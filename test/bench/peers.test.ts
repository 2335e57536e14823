// bench/peers (erlmcp-secrets against OpenBao agent and consul-template on a
// real OpenBao server) runs end to end on a tiny round count and prints a
// complete table: every agent measured, every cell a number. The figures
// themselves are the bench's business, not this test's. Its pure parts (the
// audit-log count, the smaps reading, the ratios) are checked on fixed input.

import t from 'tap';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CONSUL_TEMPLATE, CONSUL_TEMPLATE_INSTALL } from '../../bench/peers/agents.ts';
import { countResponses } from '../../bench/peers/audit-log.ts';
import { parseSmapsRollup } from '../../bench/peers/proc-stats.ts';
import { emptyFigures, formatTable, quantile, ratio, ROWS } from '../../bench/peers/table.ts';
import { BAO_INSTALL, requireBao } from '../helpers/openbao.ts';
import { BUNDLE, ROOT, runCli } from '../helpers/cli.ts';

t.test('audit log: responses are requests, KV v2 data reads are value reads', async (t) => {
  const line = (type: string, op: string, p: string) => JSON.stringify({ type, request: { operation: op, path: p } });
  const text = [
    line('request', 'read', 'secret/data/bench/s1'),
    line('response', 'read', 'secret/data/bench/s1'),
    line('response', 'read', 'secret/metadata/bench/s1'),
    line('response', 'read', 'auth/token/lookup-self'),
    line('response', 'update', 'secret/data/bench/s2'),
    'not json {',
    line('response', 'read', 'other/data/x'),
    '',
  ].join('\n');
  t.same(countResponses(text, 'secret'), { requests: 5, valueReads: 1 });
});

t.test('smaps_rollup: USS is private clean + dirty, anonymous its own line', async (t) => {
  const text = 'Rss:               20480 kB\nPss:               10000 kB\nPrivate_Clean:      1024 kB\nPrivate_Dirty:      2048 kB\nAnonymous:          1536 kB\n';
  t.same(parseSmapsRollup(text), { rssMb: 20, ussMb: 3, anonMb: 1.5 });
  t.throws(() => parseSmapsRollup('Rss: 1 kB\n'), /no Private_Clean/);
});

t.test('table: medians, ratios to the best peer', async (t) => {
  t.equal(quantile([3, 1, 2], 0.5), 2);
  t.equal(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), 9.1);
  t.equal(ratio(50, [100, 200]), 0.5);
  t.equal(ratio(0, [0, 100]), 1, 'both zero: even');
  const figs = (v: number) => {
    const f = emptyFigures();
    for (const k of Object.keys(f) as Array<keyof typeof f>) f[k].push(v);
    return f;
  };
  const table = formatTable([
    { id: 'us', label: 'us', peer: false, figures: figs(10) },
    { id: 'a', label: 'a', peer: true, figures: figs(20) },
    { id: 'b', label: 'b', peer: true, figures: figs(40) },
  ]).split('\n');
  t.equal(table.length, 2 + ROWS.length);
  t.equal(table[0], '| figure | us | a | b | us / best peer |');
  t.match(table[2], /^\| one-shot render, process start to exit \| 10\.0 ms \| 20\.0 ms \| 40\.0 ms \| 0\.50x \|$/);
});

t.test('npm run bench:peers on a tiny round count prints a complete table', async (t) => {
  t.setTimeout(280_000);
  requireBao();
  if (!existsSync(CONSUL_TEMPLATE)) throw new Error(`consul-template is missing at ${CONSUL_TEMPLATE}: run \`${CONSUL_TEMPLATE_INSTALL}\` (OpenBao: ${BAO_INSTALL})`);
  if (!existsSync(BUNDLE)) throw new Error('dist/erlmcp-secrets.js is missing: run `npm run build`');
  // the env passes HOME on, where the install script caches consul-template
  const r = await runCli(['--rounds', '1', '--one-shot-rounds', '1', '--window', '2', '--settle', '1', '--changes', '1'], {
    program: path.join(ROOT, 'bench/peers/run.ts'),
    timeoutMs: 240_000,
    ...(process.env.ERLMCP_SECRETS_CACHE ? { env: { ERLMCP_SECRETS_CACHE: process.env.ERLMCP_SECRETS_CACHE } } : {}),
  });
  const [code, out, err] = [r.code, r.stdout, r.stderr];
  t.equal(code, 0, `the bench exits 0: ${err.slice(-3000)}`);
  const rows = out.split('\n').filter((l) => l.startsWith('|'));
  const cells = rows.map((l) => l.slice(1, -1).split('|').map((c) => c.trim()));
  t.same(cells[0], [
    'figure',
    'erlmcp-secrets (image flags, code cache)',
    'erlmcp-secrets without --lite-mode',
    'OpenBao agent 2.7.2',
    'consul-template 0.41.1',
    'erlmcp-secrets (image flags, code cache) / best peer',
    'erlmcp-secrets without --lite-mode / best peer',
  ]);
  t.same(cells.slice(2).map((r) => r[0]), ROWS.map((r) => r.figure), 'one row per figure');
  for (const r of cells.slice(2)) {
    t.equal(r.length, 7, `${r[0]}: every column`);
    t.ok(r.slice(1, 5).every((c) => /^\d+(\.\d+)? ?(ms|MB)?$/.test(c)), `${r[0]}: every agent's cell is a number: ${r.slice(1, 5).join(', ')}`);
    t.ok(r.slice(5).every((c) => /^\d+\.\d\dx$/.test(c)), `${r[0]}: the ratios are numbers: ${r.slice(5).join(', ')}`);
  }
  t.notMatch(out + err, /bench-\d+-\d+-[a-z0-9]+/, 'no secret value in the output');
});
