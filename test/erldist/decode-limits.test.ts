// The decoder's limits one by one (limits.ts): just under each is accepted,
// just over is ErlDistError('limit') with a message naming it. And the
// client, in this process, against each hostile peer: the event loop keeps
// turning (what keeps /healthz answering and SIGTERM working in the sidecar).

import t from 'tap';
import { ErlDistClient } from '../../agent/erldist/client.ts';
import { ErlDistError } from '../../agent/erldist/errors.ts';
import { decodeTerm } from '../../agent/erldist/etf-decode.ts';
import { MAX_ATOM_CHARS, MAX_BIG_BYTES, MAX_DECODED_BYTES, MAX_TERM_DEPTH } from '../../agent/erldist/limits.ts';
import { Atom, isAtom } from '../../agent/erldist/terms.ts';
import type { IncomingCall, PeerSession } from '../fakes/erldist-peer.ts';
import { bigBomb, compressed, deepList, HOSTILE_NODE, longAtom, manyNils, replyFrame, startHostilePeer } from '../fakes/hostile-erldist.ts';

function failure(f: () => unknown): ErlDistError {
  try {
    f();
  } catch (e) {
    if (e instanceof ErlDistError) return e;
    throw e;
  }
  throw new Error('no error');
}

const ext = (b: Buffer): Buffer => Buffer.concat([Buffer.from([131]), b]);

t.test('atoms: 255 characters, in bytes or in UTF-8; more is a limit, bad UTF-8 a decode error', async (t) => {
  t.equal((decodeTerm(ext(longAtom(255))) as Atom).name.length, 255);
  const wide = Buffer.from('é'.repeat(MAX_ATOM_CHARS));
  const wideAtom = decodeTerm(ext(Buffer.concat([Buffer.from([118, wide.length >> 8, wide.length & 0xff]), wide])));
  t.ok(isAtom(wideAtom, 'é'.repeat(MAX_ATOM_CHARS)), '255 two-byte characters');
  const over = failure(() => decodeTerm(ext(longAtom(256))));
  t.equal(over.kind, 'limit');
  t.match(over.message, /an atom of 256 characters; Erlang atoms have at most 255/);
  t.match(failure(() => decodeTerm(ext(longAtom(65_535)))).message, /an atom of 65535 bytes/, 'refused before reading');
  const bad = failure(() => decodeTerm(ext(Buffer.from([119, 2, 0xc3, 0x28]))));
  t.equal(bad.kind, 'decode');
  t.match(bad.message, /not valid UTF-8/);
  t.notOk(decodeTerm(ext(longAtom(3))) === decodeTerm(ext(longAtom(3))), 'atoms are values, not entries of a table');
});

t.test('bignums: up to 4 KiB, converted in linear time', async (t) => {
  const ok = decodeTerm(ext(bigBomb(MAX_BIG_BYTES)));
  t.equal(ok, 2n ** BigInt(MAX_BIG_BYTES * 8) - 1n, 'all 0xff bytes is 2^(8n)-1');
  const small = decodeTerm(ext(Buffer.from([110, 3, 1, 1, 2, 3])));
  t.equal(small, -(1 + 2 * 256 + 3 * 65536), 'little-endian digits, sign byte 1 is negative');
  const e = failure(() => decodeTerm(ext(bigBomb(300_000))));
  t.equal(e.kind, 'limit');
  t.match(e.message, `an integer of 300000 bytes; the limit is ${MAX_BIG_BYTES}`);
});

t.test('nesting: 1000 levels decode, 1001 are a limit', async (t) => {
  t.ok(Array.isArray(decodeTerm(ext(deepList(MAX_TERM_DEPTH)))));
  const e = failure(() => decodeTerm(ext(deepList(MAX_TERM_DEPTH + 1))));
  t.equal(e.kind, 'limit');
  t.match(e.message, /nested deeper than 1000 levels/);
});

t.test('decoded size: one-byte terms cannot become gigabytes', async (t) => {
  t.equal((decodeTerm(ext(manyNils(100_000))) as unknown[]).length, 100_000, '100 000 empty lists are fine');
  const e = failure(() => decodeTerm(ext(manyNils(4_000_000))));
  t.equal(e.kind, 'limit');
  t.match(e.message, `decodes to more than ${MAX_DECODED_BYTES} bytes of memory`);
});

t.test('compressed terms: the header is checked first, the output bounded by it', async (t) => {
  const inner = manyNils(10);
  t.equal((decodeTerm(compressed(inner)) as unknown[]).length, 10, 'an honest compressed term decodes');
  t.match(failure(() => decodeTerm(compressed(inner, 2 ** 31))).message, /announces 2147483648 bytes; the limit is 4194304/);
  const liar = failure(() => decodeTerm(compressed(Buffer.concat([Buffer.from([109, 0, 1, 0, 0]), Buffer.alloc(65_536)]), 100)));
  t.equal(liar.kind, 'limit');
  t.match(liar.message, /inflates to more than the 100 bytes its header says/);
  t.equal(failure(() => decodeTerm(compressed(inner, inner.length + 5))).kind, 'decode', 'inflating to less than announced is malformed');
});

t.test('in-process client against each bomb: the event loop keeps turning, the call fails with the limit', async (t) => {
  // built before the clock starts: the peer runs in this process too
  const bignum = bigBomb(300_000);
  const nils = manyNils(4_000_000);
  const nested = deepList(100_000);
  const bombs: Array<[string, (s: PeerSession, c: IncomingCall) => void, RegExp]> = [
    ['bignum', (s, c) => s.frame(replyFrame(c, bignum)), /an integer of 300000 bytes/],
    ['empty lists', (s, c) => s.frame(replyFrame(c, nils)), /decodes to more than/],
    ['nesting', (s, c) => s.frame(replyFrame(c, nested)), /nested deeper than 1000/],
    // only the length: the client refuses before the body
    ['30 MB frame', (s) => s.write(Buffer.from([0x01, 0xc9, 0xc3, 0x80, 112])), /announced a 30000000-byte message/],
  ];
  for (const [what, answer, message] of bombs) {
    const peer = await startHostilePeer('COOKIE-LIMITS-7f2a', answer);
    const client = new ErlDistClient({ node: HOSTILE_NODE, cookie: 'COOKIE-LIMITS-7f2a', port: peer.port, callTimeoutMs: 20_000 });
    await client.connect();
    // from here on only our own decoding runs in this process
    let last = Date.now();
    let maxGapMs = 0;
    const ticker = setInterval(() => {
      const now = Date.now();
      maxGapMs = Math.max(maxGapMs, now - last);
      last = now;
    }, 5);
    const started = Date.now();
    const e = await client.call('m', 'f', []).then(
      () => new Error('answered'),
      (err: Error) => err,
    );
    clearInterval(ticker);
    maxGapMs = Math.max(maxGapMs, Date.now() - last);
    client.close();
    await peer.close();
    t.ok(e instanceof ErlDistError && e.kind === 'closed', `${what}: the connection is dropped`);
    t.match(e.message, message);
    // Typically under 350 ms on this machine (the worst is the 300 000 empty
    // lists decoded before the budget runs out); before the limits the bignum
    // alone held the loop for minutes. Generous: the machine is shared.
    t.ok(maxGapMs < 3000, `${what}: longest event loop stall ${maxGapMs} ms, whole call ${Date.now() - started} ms`);
  }
});
