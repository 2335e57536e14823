// What each hostile-peer attack costs `erlang-call` (a bundle run as a child):
// peak RSS (VmHWM) and wall time. A run is killed at 1 GiB RSS or 20 s, so a
// bundle without the limits can be measured too:
//   node bench/erldist-hostile.ts [path/to/erlmcp-secrets.js]
// (figures in docs/erldist-limits.md)

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { IncomingCall, PeerSession } from '../test/fakes/erldist-peer.ts';
import { startHostileEpmd } from '../test/fakes/hostile-epmd.ts';
import {
  bigBomb,
  compressed,
  distinctAtoms,
  flood,
  frameTo,
  HOSTILE_NODE,
  longAtom,
  manyNils,
  replyFrame,
  startHostilePeer,
  strayFrame,
} from '../test/fakes/hostile-erldist.ts';

const bundle = resolve(process.argv[2] ?? 'dist/erlmcp-secrets.js');
const COOKIE = 'BENCH-HOSTILE-COOKIE';
const dir = mkdtempSync(join(tmpdir(), 'erldist-hostile-'));
const cookieFile = join(dir, 'cookie');
writeFileSync(cookieFile, COOKIE, { mode: 0o600 });
const KILL_RSS_KIB = 1024 * 1024;
const KILL_MS = 20_000;

function status(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rss: Number(/^VmRSS:\s+(\d+)/m.exec(s)?.[1]), hwm: Number(/^VmHWM:\s+(\d+)/m.exec(s)?.[1]) };
  } catch {
    return undefined;
  }
}

async function measure(args: string[]): Promise<string> {
  const started = Date.now();
  const child = spawn(process.execPath, [bundle, 'erlang-call', '--log-format', 'text', '--cookie-file', cookieFile, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let peak = 0;
  let killed = '';
  const poll = setInterval(() => {
    const s = status(child.pid as number);
    if (s === undefined || Number.isNaN(s.hwm)) return; // gone, or a zombie without memory lines
    peak = Math.max(peak, s.hwm);
    if (s.rss > KILL_RSS_KIB) {
      killed = 'killed at 1 GiB';
      child.kill('SIGKILL');
    } else if (Date.now() - started > KILL_MS) {
      killed = 'killed at 20 s';
      child.kill('SIGKILL');
    }
  }, 10);
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  clearInterval(poll);
  const first = stderr.split('\n')[0]?.slice(0, 110) ?? '';
  return `exit ${code ?? '-'} ${killed ? `(${killed}) ` : ''}peak ${(peak / 1024).toFixed(0)} MiB in ${Date.now() - started} ms: ${first}`;
}

async function againstPeer(answer: (s: PeerSession, c: IncomingCall) => void, extra: string[] = []): Promise<string> {
  const peer = await startHostilePeer(COOKIE, answer);
  try {
    return await measure(['--node', HOSTILE_NODE, '--port', String(peer.port), ...extra, 'm:f()']);
  } finally {
    await peer.close();
  }
}

const bignum = bigBomb(300_000);
const nils4 = manyNils(4_000_000);
const nils30 = manyNils(30_000_000);
const zipBomb = compressed(Buffer.concat([Buffer.from([109, 4, 0, 0, 0]), Buffer.alloc(64 * 1024 * 1024)]), 1024, 1);
const cases: Array<[string, () => Promise<string>]> = [
  ['baseline (nothing listens)', () => measure(['--node', 'x@127.0.0.1', '--port', '1', 'm:f()'])],
  [
    'EPMD reply without end',
    async () => {
      const epmd = await startHostileEpmd({ kind: 'flood' });
      try {
        return await measure(['--node', HOSTILE_NODE, '--epmd-port', String(epmd.port), '--connect-timeout', '3000', 'm:f()']);
      } finally {
        await epmd.close();
      }
    },
  ],
  ['LARGE_BIG_EXT 300 KB (timeout 5 s)', () => againstPeer((s, c) => s.frame(replyFrame(c, bignum)), ['--timeout', '5000'])],
  ['compressed, lying header, 64 MiB', () => againstPeer((s, c) => s.frame(frameTo(c.from, zipBomb)), ['--timeout', '5000'])],
  ['4 MB frame of empty lists', () => againstPeer((s, c) => s.frame(replyFrame(c, nils4)), ['--timeout', '5000'])],
  ['30 MB frame of empty lists', () => againstPeer((s, c) => s.frame(replyFrame(c, nils30)), ['--timeout', '10000'])],
  ['64 KiB atom', () => againstPeer((s, c) => s.frame(replyFrame(c, longAtom(65_535))), ['--timeout', '5000'])],
  [
    '255-char atom flood, 6 s',
    () => {
      let n = 0;
      return againstPeer((s, c) => flood(s, () => strayFrame(c.from, distinctAtoms((n += 10_000), 10_000))), ['--timeout', '6000']);
    },
  ],
  [
    '64 KiB atom flood, 6 s',
    () => {
      let n = 0;
      return againstPeer(
        (s, c) => flood(s, () => strayFrame(c.from, Buffer.concat([Buffer.from([118, 0xff, 0xff]), Buffer.from(String(n++).padStart(65_535, 'q'))]))),
        ['--timeout', '6000'],
      );
    },
  ],
];
for (const [name, run] of cases) console.log(`${name}: ${await run()}`);
