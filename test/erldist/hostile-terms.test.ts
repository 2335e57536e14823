// `erlang-call` (the built bundle, as a child process) against a peer that
// knows the cookie and answers with terms built to exhaust the client. Each
// run ends with exit 4 and a message naming the limit, within bounded peak
// RSS (of the child) and time; the call timeout fires whatever the peer sends.

import t, { type Test } from 'tap';
import { MAX_BIG_BYTES, MAX_DECODED_BYTES, MAX_FRAME_BYTES, MAX_TERM_DEPTH } from '../../agent/erldist/limits.ts';
import { Ref } from '../../agent/erldist/terms.ts';
import type { IncomingCall, PeerSession } from '../fakes/erldist-peer.ts';
import {
  bigBomb,
  compressedReplyFrame,
  deepList,
  distinctAtoms,
  flood,
  HOSTILE_NODE,
  longAtom,
  manyNils,
  replyFrame,
  startHostilePeer,
  strayFrame,
  trickleFrame,
  compressed,
  frameTo,
} from '../fakes/hostile-erldist.ts';
import { HOSTILE_COOKIE, hostileCli } from '../helpers/hostile-cli.ts';

const cli = await hostileCli(t);

async function against(t: Test, answer: (s: PeerSession, call: IncomingCall) => void, extra: string[] = []) {
  const peer = await startHostilePeer(HOSTILE_COOKIE, answer);
  t.teardown(() => peer.close());
  return cli.run(['--node', HOSTILE_NODE, '--port', String(peer.port), ...extra, 'm:f()']);
}

const dropped = (what: string | RegExp): RegExp =>
  new RegExp(`dropped the connection to node hostile@127\\.0\\.0\\.1 while m:f/0 was running: .*${typeof what === 'string' ? what : what.source}`);

t.test('LARGE_BIG_EXT of 300 KB: refused at once, not decoded in minutes', async (t) => {
  const r = await against(t, (s, c) => s.frame(replyFrame(c, bigBomb(300_000))), ['--timeout', '60000']);
  cli.checkRefused(t, r, dropped(`an integer of 300000 bytes; the limit is ${MAX_BIG_BYTES}`), 15_000);
});

t.test('a compressed term that announces 2 GB', async (t) => {
  const r = await against(t, (s, c) => s.frame(compressedReplyFrame(c, manyNils(1000), 2 ** 31)));
  cli.checkRefused(t, r, dropped(`a compressed term announces 2147483648 bytes; the limit is ${MAX_FRAME_BYTES}`), 15_000);
});

// 64 MiB of zeros in a binary deflate to ~64 KB; the header claims 1 KiB.
// Made before any run: deflating takes the test process a while.
const zipBomb = compressed(Buffer.concat([Buffer.from([109, 4, 0, 0, 0]), Buffer.alloc(64 * 1024 * 1024)]), 1024, 1);

t.test('a compressed term that inflates past what its header says (zip bomb)', async (t) => {
  t.ok(zipBomb.length < 1024 * 1024, `the bomb is ${zipBomb.length} bytes on the wire`);
  const r = await against(t, (s, c) => s.frame(frameTo(c.from, zipBomb)));
  cli.checkRefused(t, r, dropped('a compressed term inflates to more than the 1024 bytes its header says'), 15_000);
});

t.test('a compressed frame of millions of empty lists', async (t) => {
  const r = await against(t, (s, c) => s.frame(compressedReplyFrame(c, manyNils(4_000_000))));
  cli.checkRefused(t, r, dropped(`decodes to more than ${MAX_DECODED_BYTES} bytes of memory`), 15_000);
});

t.test('a 4 MB frame of 4 million empty lists', async (t) => {
  const r = await against(t, (s, c) => s.frame(replyFrame(c, manyNils(4_000_000))));
  cli.checkRefused(t, r, dropped(`decodes to more than ${MAX_DECODED_BYTES} bytes of memory`), 15_000);
});

t.test('a 30 MB frame is refused by its length, before it is buffered', async (t) => {
  const r = await against(t, (s, c) => s.frame(replyFrame(c, manyNils(30_000_000))));
  cli.checkRefused(t, r, dropped(`announced a \\d+-byte message; the limit is ${MAX_FRAME_BYTES}`), 15_000);
});

t.test('terms nested 100 000 deep', async (t) => {
  const r = await against(t, (s, c) => s.frame(replyFrame(c, deepList(100_000))));
  cli.checkRefused(t, r, dropped(`terms nested deeper than ${MAX_TERM_DEPTH} levels`), 15_000);
});

t.test('a 64 KiB atom', async (t) => {
  const r = await against(t, (s, c) => s.frame(replyFrame(c, longAtom(65_535))));
  cli.checkRefused(t, r, dropped('an atom of 65535 bytes; Erlang atoms have at most 255 characters'), 15_000);
});

/** the peer floods frames of 10 000 new 255-character atoms each until the 6 s call timeout */
async function atomFlood(t: Test, frameFor: (c: IncomingCall, sentSoFar: number) => Buffer): Promise<void> {
  let sentAtoms = 0;
  const r = await against(
    t,
    (s, c) =>
      flood(s, () => {
        sentAtoms += 10_000;
        return frameFor(c, sentAtoms);
      }),
    ['--timeout', '6000'],
  );
  t.ok(sentAtoms >= 20_000, `the peer sent ${sentAtoms} distinct atoms`);
  // frames that answer no call are counted: past MAX_UNSOLICITED_BYTES the
  // connection goes, long before the call timeout
  cli.checkRefused(t, r, /hostile@127\.0\.0\.1 sent more than 8388608 bytes that answer no call of ours/, 20_000);
}

// Nothing is kept (no atom table), and a frame nobody waits for is decoded
// only as far as its control message and the start of its payload.
t.test('distinct 255-character atoms flooding a kept-open connection: dropped once they pass the unsolicited budget, memory bounded', (t) =>
  atomFlood(t, (c, n) => strayFrame(c.from, distinctAtoms(n, 10_000))),
);

t.test('the same flood with each frame shaped as a reply to another call: the Ref is read, the rest is not', (t) =>
  atomFlood(t, (c, n) => replyFrame({ ...c, ref: new Ref(c.ref.node, c.ref.creation, [n % 0x40000, 1, 2]) }, distinctAtoms(n, 10_000))),
);

t.test('a reply that trickles in a byte at a time: the call timeout ends it', async (t) => {
  const r = await against(
    t,
    (s, c) => trickleFrame(s, replyFrame(c, longAtom(200)), 20),
    ['--timeout', '2000'],
  );
  cli.checkRefused(t, r, /did not answer m:f\/0 within 2000 ms/, 15_000);
});

t.test('SIGTERM ends erlang-call while a peer trickles', async (t) => {
  let termSentAt = 0;
  const peer = await startHostilePeer(HOSTILE_COOKIE, (s, c) => trickleFrame(s, replyFrame(c, longAtom(200)), 50));
  t.teardown(() => peer.close());
  const r = await cli.run(['--node', HOSTILE_NODE, '--port', String(peer.port), '--timeout', '60000', 'm:f()'], {
    onStart: (pid) =>
      setTimeout(() => {
        termSentAt = Date.now();
        process.kill(pid, 'SIGTERM');
      }, 1500),
  });
  t.ok(r.signal === 'SIGTERM' || r.code === 143, `ended by SIGTERM (code ${r.code}, signal ${r.signal})`);
  t.ok(termSentAt > 0, 'the signal was sent while it waited');
});
