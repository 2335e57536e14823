// bench/peers (erlmcp-secrets against OpenBao agent and consul-template on a
// real OpenBao server) runs end to end on a tiny round count and prints a
// complete table: every agent measured, every cell a number (the cgroup rows:
// numbers, or "not measured" with the reason where the machine has no memory
// cgroup to give). The figures themselves are the bench's business, not this
// test's. Its pure parts (the audit-log count and reads, the check gaps, the
// smaps and cgroup readings, the ratios) are checked on fixed input.

import t from 'tap';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CONSUL_TEMPLATE, CONSUL_TEMPLATE_INSTALL } from '../../bench/peers/agents.ts';
import { checkGaps, gapStats, rankQuantile } from '../../bench/check-gaps.ts';
import { changeStages, countResponses, secretReads } from '../../bench/peers/audit-log.ts';
import { bootstrapMedian, computedMedian, waitCdf } from '../../bench/peers/change-model.ts';
import { cgroupMemoryOf, cgroupMounts, ownCgroups } from '../../bench/peers/cgroup.ts';
import { parseSmapsRollup } from '../../bench/peers/proc-stats.ts';
import { emptyFigures, formatTable, quantile, ratio, rowFigure, ROWS, type TableContext } from '../../bench/peers/table.ts';
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

t.test('audit log: secret reads by data path, at the time the server logged the request', async (t) => {
  const line = (type: string, op: string, p: string, time: string) => JSON.stringify({ type, time, request: { operation: op, path: p } });
  const text = [
    line('request', 'read', 'secret/metadata/bench/s1', '2026-12-03T10:00:00.250123456Z'),
    line('response', 'read', 'secret/metadata/bench/s1', '2026-12-03T10:00:00.251Z'),
    line('request', 'read', 'secret/data/bench/s1', '2026-12-03T10:00:01.000Z'),
    line('request', 'update', 'secret/data/bench/s2', '2026-12-03T10:00:01.000Z'),
    line('request', 'read', 'auth/token/lookup-self', '2026-12-03T10:00:01.000Z'),
    line('request', 'read', 'secret/data/bench/s3', 'not a time'),
    '{"type":"request","time":"2026-12-03T10:0',
  ].join('\n');
  const at = Date.parse('2026-12-03T10:00:00.250Z');
  t.same(secretReads(text, 'secret'), [
    { secret: 'secret/data/bench/s1', at },
    { secret: 'secret/data/bench/s1', at: at + 750 },
  ]);
});

t.test('audit log: a change waits from the answer to its write to the first read that returned its version', async (t) => {
  const line = (type: string, op: string, p: string, ms: number, data?: unknown) =>
    JSON.stringify({ type, time: new Date(Date.parse('2026-12-03T10:00:00Z') + ms).toISOString(), request: { operation: op, path: p }, ...(data ? { response: { data } } : {}) });
  const at = (ms: number) => Date.parse('2026-12-03T10:00:00Z') + ms;
  const text = [
    line('response', 'read', 'secret/metadata/bench/s1', 0, { current_version: 1 }), // before the write
    line('request', 'update', 'secret/data/bench/s1', 10),
    line('response', 'read', 'secret/metadata/bench/s1', 11, { current_version: 1 }), // while the write is on its way: the old version
    line('response', 'update', 'secret/data/bench/s1', 12, { version: 2 }),
    line('response', 'read', 'secret/metadata/bench/s2', 300, { current_version: 7 }), // another secret
    line('response', 'read', 'secret/metadata/bench/s10', 350, { current_version: 9 }), // a longer name with the same start
    line('response', 'read', 'secret/metadata/bench/s1', 480, { current_version: 2 }),
    line('response', 'read', 'secret/data/bench/s1', 483, { data: { value: 'hmac-sha256:00' }, metadata: { version: 2 } }),
  ];
  t.same(changeStages(text.join('\n'), 'secret', 'bench/s1'), { writtenAt: at(12), checkedAt: at(480) }, 'the metadata read that saw version 2');
  // a peer reads the value itself; and a read that saw the new version may be logged before the write's answer
  const peer = [text[1]!, line('response', 'read', 'secret/data/bench/s1', 11, { data: {}, metadata: { version: 2 } }), text[3]!];
  t.same(changeStages(peer.join('\n'), 'secret', 'bench/s1'), { writtenAt: at(12), checkedAt: at(11) });
  t.equal(changeStages(text.join('\n'), 'secret', 'bench/s3'), undefined, 'no write: no stages');
  t.equal(changeStages(text.slice(0, 6).join('\n'), 'secret', 'bench/s1'), undefined, 'no read of the new version yet');
});

t.test('change to file computed: a change at a random time waits into a gap in proportion to its length', async (t) => {
  const even = waitCdf([1000, 1000]);
  t.equal(even(0), 0);
  t.equal(even(250), 0.25);
  t.equal(even(1000), 1);
  t.equal(even(5000), 1);
  // a 100 ms gap and a 900 ms one: 90 % of random times fall into the long one
  const uneven = waitCdf([100, 900]);
  t.equal(uneven(100), 0.2, 'by 100 ms: all of the short gap (0.1) and a ninth of the long one (0.1)');
  t.ok(Math.abs(computedMedian([1000], [10]) - 510) < 0.2, 'gaps of one interval: half of it, plus the time to the file');
  t.ok(Math.abs(computedMedian([900, 1100], [0]) - 500) < 0.2, '±10 % gaps: still half the mean interval');
  t.ok(Math.abs(computedMedian([910], [5, 15]) - 465) < 1, "a peer that checks every 0.91 s: half of that, plus the middle of its file times");
  t.ok(Number.isNaN(computedMedian([], [10])) && Number.isNaN(computedMedian([1000], [])), 'nothing to compute from: NaN');
  let seed = 1;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const uniform = Array.from({ length: 400 }, () => rand() * 1000);
  const { low, high } = bootstrapMedian(uniform, rand);
  t.ok(low < quantile(uniform, 0.5) && quantile(uniform, 0.5) < high, `the sample's median lies in its interval: ${low.toFixed(0)}-${high.toFixed(0)}`);
  // the standard error of a median of 400 uniform [0, 1000] samples is 25 ms: the 95 % interval is about 100 ms wide
  t.ok(high - low > 60 && high - low < 150, `the interval's width: ${(high - low).toFixed(0)} ms`);
});

t.test('check gaps: per secret, a metadata and data read close together are one check', async (t) => {
  const reads = [
    { secret: 'a', at: 1000 },
    { secret: 'b', at: 1500 },
    { secret: 'a', at: 2000 },
    { secret: 'a', at: 2100 }, // the data read after a changed version: same check
    { secret: 'b', at: 2900 },
    { secret: 'a', at: 3600 },
  ];
  t.same(checkGaps(reads), [1000, 1400, 1600]);
  t.same(checkGaps([{ secret: 'a', at: 1 }]), [], 'one check: no gap');
  t.equal(rankQuantile([1, 2, 3, 4], 0.5), 3);
  t.equal(rankQuantile([...Array(100).keys()], 0.99), 99);
  t.ok(Number.isNaN(rankQuantile([], 0.99)));
  const g = gapStats([900, 1000, 1000, 1100, 1600, 2000], 1000);
  t.same(g, { gaps: 6, p50: 1.1, p99: 2, max: 2, overOneAndHalf: 2 / 6 });
});

t.test('cgroup: mounts, own groups, and memory read as v2 or v1 name them', async (t) => {
  const mountinfo = [
    '30 25 0:26 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw',
    '35 25 0:31 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory',
    '36 25 0:32 / /sys/fs/cgroup/cpu rw,nosuid - cgroup cgroup rw,cpu',
    '40 1 8:1 / / rw - ext4 /dev/vda rw',
  ].join('\n');
  t.same(cgroupMounts(mountinfo).map((m) => [m.fs, m.point, m.superOptions.includes('memory')]), [
    ['cgroup2', '/sys/fs/cgroup/unified', false],
    ['cgroup', '/sys/fs/cgroup/memory', true],
    ['cgroup', '/sys/fs/cgroup/cpu', false],
  ]);
  t.same(ownCgroups('9:name=systemd:/\n4:memory:/jobs/x\n3:cpu,cpuacct:/\n0::/user.slice/a\n'), { v2: '/user.slice/a', v1memory: '/jobs/x' });
  const MB = 1024 * 1024;
  t.same(cgroupMemoryOf(2, `${30 * MB}\n`, `anon ${10 * MB}\nfile ${18 * MB}\ninactive_file ${16 * MB}\n`), { currentMb: 30, anonMb: 10, fileMb: 18, workingSetMb: 14 });
  t.same(cgroupMemoryOf(1, `${30 * MB}\n`, `rss 1\ntotal_rss ${10 * MB}\ntotal_cache ${18 * MB}\ntotal_inactive_file ${16 * MB}\n`), { currentMb: 30, anonMb: 10, fileMb: 18, workingSetMb: 14 });
  t.throws(() => cgroupMemoryOf(2, '1\n', 'file 1\n'), /no anon line/);
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
    for (const k of Object.keys(f) as Array<keyof typeof f>) if (k !== 'checkGapsMs' && k !== 'changeGapsMs') f[k].push(v);
    f.changeGapsMs.push([1000]);
    // gaps at v and 2v, over two rounds: p50 v, p99 and max 2v
    f.checkGapsMs.push([v, 2 * v], [v, v, 2 * v]);
    return f;
  };
  const ctx: TableContext = { intervalMs: 10, busy: 2, cgroup: { source: 'cgroup v2 memory.current' } };
  const columns = [
    { id: 'us', label: 'us', peer: false, figures: figs(10) },
    { id: 'a', label: 'a', peer: true, figures: figs(20) },
    { id: 'b', label: 'b', peer: true, figures: figs(40) },
  ];
  const table = formatTable(columns, ctx).split('\n');
  t.equal(table.length, 2 + ROWS.length);
  t.equal(table[0], '| figure | us | a | b | us / best peer |');
  t.match(table[2], /^\| one-shot render, process start to exit \| 10\.0 ms \| 20\.0 ms \| 40\.0 ms \| 0\.50x \|$/);
  t.ok(table.includes('| check gap p99 / interval, 2 busy processes | 2.00x | 4.00x | 8.00x | 0.50x |'), 'gaps as ratios to the interval, per round, then the median of rounds');
  t.ok(table.includes('| sidecar cgroup memory.current (cgroup v2 memory.current) | 10.0 MB | 20.0 MB | 40.0 MB | 0.50x |'));
  const none = formatTable(columns.map((c) => ({ ...c, figures: { ...c.figures, cgroupMb: [] } })), { ...ctx, cgroup: { notMeasured: 'no memory controller' } }).split('\n');
  t.ok(none.includes('| sidecar cgroup memory.current: not measured (no memory controller) | n/a | n/a | n/a | n/a |'), 'without a cgroup the row says why');
});

t.test('npm run bench:peers on a tiny round count prints a complete table', async (t) => {
  t.setTimeout(280_000);
  requireBao();
  if (!existsSync(CONSUL_TEMPLATE)) throw new Error(`consul-template is missing at ${CONSUL_TEMPLATE}: run \`${CONSUL_TEMPLATE_INSTALL}\` (OpenBao: ${BAO_INSTALL})`);
  if (!existsSync(BUNDLE)) throw new Error('dist/erlmcp-secrets.js is missing: run `npm run build`');
  // the env passes HOME on, where the install script caches consul-template
  const r = await runCli(['--rounds', '1', '--one-shot-rounds', '1', '--window', '2', '--settle', '1', '--changes', '1', '--schedule-window', '4'], {
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
  const figures = cells.slice(2).map((r) => r[0]!);
  const cgroupNote = /sidecar cgroup memory.current (?:\((cgroup v[12] [a-z_.]+)\)|: not measured \((.+)\))$/.exec(figures.find((f) => f.startsWith('sidecar cgroup memory.current')) ?? '');
  t.ok(cgroupNote, `the cgroup rows name their source or why there is none: ${figures.join(' / ')}`);
  const ctx: TableContext = { intervalMs: 1000, busy: 2, cgroup: cgroupNote?.[1] ? { source: cgroupNote[1] } : { notMeasured: cgroupNote?.[2] ?? '' } };
  t.same(figures, ROWS.map((r) => rowFigure(r, ctx)), 'one row per figure, the schedule and cgroup rows included');
  for (const r of cells.slice(2)) {
    t.equal(r.length, 7, `${r[0]}: every column`);
    const unmeasured = r[0]!.startsWith('sidecar cgroup') && 'notMeasured' in ctx.cgroup;
    const number = unmeasured ? /^n\/a$/ : /^\d+(\.\d+)?( ms| MB|x|%)?$/;
    t.ok(r.slice(1, 5).every((c) => number.test(c)), `${r[0]}: every agent's cell is ${unmeasured ? 'n/a' : 'a number'}: ${r.slice(1, 5).join(', ')}`);
    t.ok(r.slice(5).every((c) => (unmeasured ? /^n\/a$/ : /^(\d+\.\d\dx|∞)$/).test(c)), `${r[0]}: the ratios: ${r.slice(5).join(', ')}`);
  }
  t.notMatch(out + err, /bench-\d+-\d+-[a-z0-9]+/, 'no secret value in the output');
});
