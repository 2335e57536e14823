// bench/fleet.ts at a tiny size (2 agents, 1 s interval, seconds per phase)
// against a real OpenBao dev server: it runs, measures every agent it
// compares, and prints a complete table. Its figures are bench/'s business;
// nothing here is timed.

import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BAO_INSTALL, requireBao } from '../helpers/openbao.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CACHE = process.env.ERLMCP_SECRETS_CACHE || path.join(process.env.HOME ?? '/root', '.cache/erlmcp-secrets');
const CONSUL_TEMPLATE = path.join(CACHE, 'consul-template-v0.41.1', 'consul-template');

t.setTimeout(290_000);

t.test('bench/fleet.ts prints a complete table for erlmcp-secrets and both peers', async (t) => {
  requireBao();
  if (!existsSync(path.join(ROOT, 'dist/erlmcp-secrets.js'))) return t.fail('dist/erlmcp-secrets.js is missing: run `npm run build` first');
  if (!existsSync(CONSUL_TEMPLATE)) return t.fail(`${CONSUL_TEMPLATE} is missing: run \`bash test/setup/install-consul-template.sh\``);
  const dir = mkdtempSync(path.join(tmpdir(), 'fleet-bench-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const json = path.join(dir, 'fleet.json');
  const args = ['bench/fleet.ts', '--agents', '2', '--interval', '1', '--steady', '4', '--outage', '2', '--after', '3', '--quota', '3', '--busy', '1', '--json', json];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: process.env.HOME } });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.equal(code, 0, `exit 0 (stderr: ${err.slice(-2000)}; bao: ${BAO_INSTALL})`);

  const lines = out.split('\n').filter((l) => l.startsWith('|'));
  t.equal(lines.length, 9, 'header, rule and seven figures');
  t.match(lines[0], /\| figure \(N = 2, 5 own \+ 2 shared secrets, 1 s interval\) \| goal \| erlmcp-secrets \| OpenBao agent \| consul-template \|/);
  const rows = lines.slice(2).map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
  for (const r of rows) {
    t.equal(r.length, 5, `${r[0]}: a goal and three cells`);
    t.notOk(r.slice(2).some((c) => c === 'n/a' || c === ''), `${r[0]}: every cell measured (${r.slice(2).join(', ')})`);
  }
  const readiness = rows.filter((r) => r[0]!.includes('/readyz'));
  t.equal(readiness.length, 2);
  for (const r of readiness) {
    t.match(r[2], /^\d+(\.\d+)? s$/, 'ours: seconds until ready');
    t.same(r.slice(3), ['no readiness', 'no readiness'], 'the peers have no readiness endpoint');
  }
  const saved = JSON.parse(readFileSync(json, 'utf8')) as {
    rows: Array<{ subject: string; steadyRate: number; quotaRatio: number; outagePeak: { answers: number; answersPerSecond: number[]; sentDuringStop: number; serverPeak?: number } }>;
  };
  t.same(saved.rows.map((r) => r.subject), ['erlmcp-secrets', 'OpenBao agent', 'consul-template']);
  // 2 agents x 7 secrets, one check each per second: about 14 reads a second
  const ours = saved.rows[0]!;
  t.ok(ours.steadyRate > 5 && ours.steadyRate < 40, `our steady rate is plausible: ${ours.steadyRate}/s`);
  t.ok(saved.rows.every((r) => Number.isFinite(r.quotaRatio) && r.quotaRatio > 0), 'attempts were counted under the quota');
  // the busiest second after the stop, taken apart for each agent compared
  t.equal(out.split('\n').filter((l) => l.includes('busiest second after the stop')).length, 3, 'a breakdown line per subject');
  for (const r of saved.rows) {
    t.equal(r.outagePeak.answers, Math.max(...r.outagePeak.answersPerSecond), `${r.subject}: the peak is the busiest second`);
    t.ok(r.outagePeak.sentDuringStop > 0, `${r.subject}: calls sent during the stop were seen (${r.outagePeak.sentDuringStop})`);
    t.ok(Number.isInteger(r.outagePeak.serverPeak), `${r.subject}: the server's own count from its audit log (${r.outagePeak.serverPeak})`);
  }
});
