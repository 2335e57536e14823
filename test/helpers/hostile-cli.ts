// Shared setup of the hostile-peer CLI tests: a cookie file, the baseline
// memory of the bundle running erlang-call, and the checks every run against
// a hostile peer must pass (exit code, one escaped line, bounded RSS and time).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { runBundleMeasured, type MeasuredRun } from './child-peak-rss.ts';

export const HOSTILE_COOKIE = 'HOSTILE-PEER-COOKIE-5c1e9a';

// What a hostile peer may add to the child's peak RSS over a run that fails
// at once: the frame cap (4 MiB) plus the decode budget (16 MiB) plus V8's
// slack in collecting them. Before the limits these attacks took 1-3 GB.
export const EXTRA_RSS_BOUND_MIB = 64;

export interface HostileCli {
  cookieFile: string;
  baselineMiB: number;
  run(args: string[], opts?: { killAfterMs?: number; onStart?: (pid: number) => void }): Promise<MeasuredRun>;
  /** exit 4, one line of escaped text on stderr, nothing on stdout, bounded memory and time */
  checkRefused(t: Test, r: MeasuredRun, message: RegExp | string, maxMs: number, extraRssMiB?: number): void;
}

// C0 except newline, DEL, C1, bidi/invisible controls
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/u;

export async function hostileCli(t: Test): Promise<HostileCli> {
  const dir = mkdtempSync(join(tmpdir(), 'hostile-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cookieFile = join(dir, 'cookie');
  writeFileSync(cookieFile, HOSTILE_COOKIE, { mode: 0o600 });
  const run = (args: string[], opts: { killAfterMs?: number; onStart?: (pid: number) => void } = {}): Promise<MeasuredRun> =>
    runBundleMeasured(['erlang-call', '--log-format', 'text', '--cookie-file', cookieFile, ...args], opts);
  // nothing listens on port 1: the cheapest failing run
  const baseline = await run(['--node', 'nobody@127.0.0.1', '--port', '1', 'm:f()']);
  if (baseline.code !== 4) throw new Error(`baseline run failed unexpectedly: ${baseline.stderr}`);
  return {
    cookieFile,
    baselineMiB: baseline.peakRssMiB,
    run,
    checkRefused(t, r, message, maxMs, extraRssMiB = EXTRA_RSS_BOUND_MIB) {
      t.equal(r.code, 4, `exit 4 (${r.signal ?? 'no signal'})`);
      t.match(r.stderr, message);
      t.equal(r.stdout, '', 'nothing on stdout');
      t.equal(r.stderr.split('\n').length, 2, 'stderr is one line: the peer cannot forge more');
      t.notOk(RAW_CONTROL.test(r.stderr), 'no raw control characters reach the terminal');
      t.ok(r.stderr.length < 2000, `stderr is cut (${r.stderr.length} characters)`);
      t.ok(
        r.peakRssMiB < baseline.peakRssMiB + extraRssMiB,
        `peak RSS ${r.peakRssMiB} MiB (baseline ${baseline.peakRssMiB} MiB, bound +${extraRssMiB})`,
      );
      t.ok(r.elapsedMs < maxMs, `finished in ${r.elapsedMs} ms (bound ${maxMs} ms)`);
    },
  };
}
