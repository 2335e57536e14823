// A scripted Erlang distribution peer (the accepting side of the version-6
// handshake) for the cases a real node will not produce on demand: a wrong
// challenge-ack digest, odd statuses, silence, old-style challenges, atom
// cache headers, garbage frames. Listens on 127.0.0.1 only.

import { createHash } from 'node:crypto';
import net from 'node:net';
import { decodeDistFrame, AtomCache } from '../../agent/erldist/dist-frame.ts';
import { MANDATORY_25, MANDATORY_26, DFLAG_MANDATORY_25_DIGEST } from '../../agent/erldist/dist-flags.ts';
import { atom, isAtom, Pid, Ref, Tuple, type Term } from '../../agent/erldist/terms.ts';

export interface SendName {
  tag: string;
  flags: bigint;
  creation: number;
  name: string;
}

export interface IncomingCall {
  from: Pid;
  ref: Ref;
  request: Term;
}

export interface PeerSession {
  /** write raw bytes (a whole frame, length included) */
  write(bytes: Buffer): void;
  /** write one frame: 4-byte length + body */
  frame(body: Buffer): void;
  /** bytes written but not yet taken by the client (for floods that follow its pace) */
  backlog(): number;
  readonly closed: boolean;
  close(): void;
}

export interface PeerScript {
  name: string;
  /** the name bytes sent in the challenge instead of `name` (escapes, huge names) */
  challengeName?: Buffer;
  cookie: string;
  status?: string;
  /** stop answering at this point */
  silentAfter?: 'name' | 'reply';
  challengeTag?: 'N' | 'n';
  flags?: bigint;
  ackDigest?: 'right' | 'wrong';
  /** called once the handshake is done */
  onConnected?: (s: PeerSession) => void;
  /** a call to rex arrived */
  onCall?: (s: PeerSession, call: IncomingCall) => void;
}

export interface FakePeer {
  port: number;
  sendNames: SendName[];
  /** 'strue' / 'sfalse' answers to an `alive` status */
  aliveAnswers: string[];
  /** the digest our client computed was the right one */
  clientDigestOk: boolean[];
  ticksReceived: number;
  close(): Promise<void>;
}

function digest(cookie: string, challenge: number): Buffer {
  return createHash('md5').update(cookie).update(String(challenge >>> 0)).digest();
}

function packet2(body: Buffer): Buffer {
  const b = Buffer.alloc(2 + body.length);
  b.writeUInt16BE(body.length, 0);
  body.copy(b, 2);
  return b;
}

export async function startFakePeer(script: PeerScript): Promise<FakePeer> {
  const sockets = new Set<net.Socket>();
  const peer: FakePeer = {
    port: 0,
    sendNames: [],
    aliveAnswers: [],
    clientDigestOk: [],
    ticksReceived: 0,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let stage: 'name' | 'alive' | 'reply' | 'connected' | 'silent' = 'name';
    const challenge = 0xdeadbeef;
    const cache = new AtomCache();
    const session: PeerSession = {
      write: (b) => {
        if (!socket.destroyed) socket.write(b);
      },
      frame: (body) => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(body.length, 0);
        if (!socket.destroyed) socket.write(Buffer.concat([len, body]));
      },
      backlog: () => socket.writableLength,
      get closed() {
        return socket.destroyed;
      },
      close: () => socket.destroy(),
    };
    const sendChallenge = (): void => {
      const name = script.challengeName ?? Buffer.from(script.name);
      const body = Buffer.alloc(1 + 8 + 4 + 4 + 2 + name.length);
      body.write(script.challengeTag ?? 'N', 0, 'latin1');
      body.writeBigUInt64BE(script.flags ?? (MANDATORY_25 | MANDATORY_26 | DFLAG_MANDATORY_25_DIGEST), 1);
      body.writeUInt32BE(challenge, 9);
      body.writeUInt32BE(77, 13);
      body.writeUInt16BE(name.length, 17);
      name.copy(body, 19);
      socket.write(packet2(body));
    };
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (stage === 'silent') return;
        const header = stage === 'connected' ? 4 : 2;
        if (buf.length < header) return;
        const len = header === 2 ? buf.readUInt16BE(0) : buf.readUInt32BE(0);
        if (buf.length < header + len) return;
        const body = buf.subarray(header, header + len);
        buf = buf.subarray(header + len);
        if (stage === 'name') {
          peer.sendNames.push({
            tag: String.fromCharCode(body[0] as number),
            flags: body.readBigUInt64BE(1),
            creation: body.readUInt32BE(9),
            name: body.subarray(15, 15 + body.readUInt16BE(13)).toString(),
          });
          if (script.silentAfter === 'name') {
            stage = 'silent';
            return;
          }
          const status = script.status ?? 'ok';
          socket.write(packet2(Buffer.from(`s${status}`)));
          if (status === 'alive') {
            stage = 'alive';
            continue;
          }
          if (status !== 'ok' && status !== 'ok_simultaneous') {
            socket.end();
            return;
          }
          sendChallenge();
          stage = 'reply';
        } else if (stage === 'alive') {
          peer.aliveAnswers.push(body.toString('latin1'));
          sendChallenge();
          stage = 'reply';
        } else if (stage === 'reply') {
          const theirChallenge = body.readUInt32BE(1);
          const ok = body.subarray(5, 21).equals(digest(script.cookie, challenge));
          peer.clientDigestOk.push(ok);
          if (!ok) {
            socket.destroy();
            return;
          }
          if (script.silentAfter === 'reply') {
            stage = 'silent';
            return;
          }
          const ack = script.ackDigest === 'wrong' ? digest(`${script.cookie}x`, theirChallenge) : digest(script.cookie, theirChallenge);
          socket.write(packet2(Buffer.concat([Buffer.from('a'), ack])));
          stage = 'connected';
          script.onConnected?.(session);
        } else {
          if (body.length === 0) {
            peer.ticksReceived++;
            continue;
          }
          const { control, payload } = decodeDistFrame(Buffer.from(body), cache);
          const [op, from, , to] = control.elements;
          if (op === 6 && isAtom(to, 'rex') && from instanceof Pid && payload instanceof Tuple) {
            const [, fromRef, request] = payload.elements;
            if (fromRef instanceof Tuple && fromRef.elements[1] instanceof Ref) {
              script.onCall?.(session, { from, ref: fromRef.elements[1], request: request as Term });
            }
          }
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  peer.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return peer;
}
