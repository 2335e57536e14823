// Hostile Erlang distribution peers: they complete the real handshake (with
// the right cookie: what a compromised or buggy node can do) and then answer
// a call with terms built to exhaust the client: bignum, compression and
// nesting bombs, frames of millions of tiny terms, floods of distinct long
// atoms, or a reply that trickles in a byte at a time. The term builders
// write raw external term format, since our encoder refuses such terms.

import { deflateSync } from 'node:zlib';
import { encodeTerm } from '../../agent/erldist/etf-encode.ts';
import { atom, Pid, Tuple } from '../../agent/erldist/terms.ts';
import { startFakePeer, type FakePeer, type IncomingCall, type PeerSession } from './erldist-peer.ts';

const SEND = 2;
const PASS_THROUGH = 112;

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}

/** a LARGE_BIG_EXT integer with `bytes` bytes of magnitude */
export function bigBomb(bytes: number): Buffer {
  return Buffer.concat([Buffer.from([111]), u32(bytes), Buffer.from([0]), Buffer.alloc(bytes, 0xff)]);
}

/** `depth` lists, each the only element of the one around it */
export function deepList(depth: number): Buffer {
  return Buffer.concat([Buffer.alloc(depth * 5, 0).fill(Buffer.from([108, 0, 0, 0, 1])), Buffer.from([106]), Buffer.alloc(depth, 106)]);
}

/** a list of `count` empty lists: one byte each on the wire */
export function manyNils(count: number): Buffer {
  return Buffer.concat([Buffer.from([108]), u32(count), Buffer.alloc(count + 1, 106)]);
}

/** an ATOM_UTF8_EXT of `len` bytes */
export function longAtom(len: number, fill = 'a'): Buffer {
  return Buffer.concat([Buffer.from([118]), u16(len), Buffer.alloc(len, fill)]);
}

/** a list of `count` distinct atoms of 255 characters, numbered from `first` */
export function distinctAtoms(first: number, count: number): Buffer {
  const parts: Buffer[] = [Buffer.from([108]), u32(count)];
  for (let i = 0; i < count; i++) {
    const name = `${first + i}`.padStart(255, 'z');
    parts.push(Buffer.from([119, 255]), Buffer.from(name, 'latin1'));
  }
  parts.push(Buffer.from([106]));
  return Buffer.concat(parts);
}

/** the control message {SEND, '', To} of a frame to `to` */
function control(to: Pid): Buffer {
  return encodeTerm(new Tuple([SEND, atom(''), to]));
}

/** the body of a frame answering `call` with `reply` (a term without version byte) */
export function replyFrame(call: IncomingCall, reply: Buffer): Buffer {
  const ref = encodeTerm(call.ref).subarray(1);
  return Buffer.concat([Buffer.from([PASS_THROUGH]), control(call.from), Buffer.from([131, 104, 2]), ref, reply]);
}

/** `inner` (a term without version byte) compressed; `announced` is the size the header claims */
export function compressed(inner: Buffer, announced = inner.length, level = 9): Buffer {
  return Buffer.concat([Buffer.from([131, 80]), u32(announced), deflateSync(inner, { level })]);
}

/** the body of a frame answering `call` with `reply`, compressed (a liar announces less than it holds) */
export function compressedReplyFrame(call: IncomingCall, reply: Buffer, announced?: number): Buffer {
  const ref = encodeTerm(call.ref).subarray(1);
  const inner = Buffer.concat([Buffer.from([104, 2]), ref, reply]);
  return Buffer.concat([Buffer.from([PASS_THROUGH]), control(call.from), compressed(inner, announced)]);
}

/** a frame to `to` with a payload made in advance (version byte included) */
export function frameTo(to: Pid, externalPayload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([PASS_THROUGH]), control(to), externalPayload]);
}

/** a frame to `to` that is no reply to anything: the client must decode it and drop it */
export function strayFrame(to: Pid, payload: Buffer): Buffer {
  return frameTo(to, Buffer.concat([Buffer.from([131]), payload]));
}

export const HOSTILE_NODE = 'hostile@127.0.0.1';

/** a peer that completes the handshake and answers the first call with `answer` */
export function startHostilePeer(cookie: string, answer: (s: PeerSession, call: IncomingCall) => void, challengeName?: Buffer): Promise<FakePeer> {
  return startFakePeer({ name: HOSTILE_NODE, cookie, onCall: answer, ...(challengeName ? { challengeName } : {}) });
}

/** writes `frames()` for as long as the client takes them, keeping at most `backlog` bytes queued */
export function flood(s: PeerSession, nextFrame: () => Buffer, backlog = 8 * 1024 * 1024): void {
  const tick = (): void => {
    if (s.closed) return;
    while (s.backlog() < backlog) s.frame(nextFrame());
    setTimeout(tick, 5);
  };
  tick();
}

/** writes the frame of `body` one byte every `intervalMs`, never the last one */
export function trickleFrame(s: PeerSession, body: Buffer, intervalMs: number): void {
  const bytes = Buffer.concat([u32(body.length), body]);
  let i = 0;
  const timer = setInterval(() => {
    if (s.closed || i >= bytes.length - 1) {
      clearInterval(timer);
      return;
    }
    s.write(bytes.subarray(i, i + 1));
    i++;
  }, intervalMs);
}
