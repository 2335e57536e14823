// Turns a stream socket into "give me the next length-prefixed packet".
// The handshake uses 2-byte lengths, the connection afterwards 4-byte ones.
// A pending read fails with ErlDistError('closed') when the peer goes away,
// so no caller can wait forever on a dead socket.
//
// Every read has a size cap (limits.ts): the handshake reads small packets
// from a peer that has not proved anything yet, the connection afterwards
// frames of at most MAX_FRAME_BYTES. A length beyond the cap, or more bytes
// piling up than one packet can hold, drops the connection before the bytes
// are buffered.

import type { Duplex } from 'node:stream';
import { ErlDistError } from './errors.ts';
import { MAX_FRAME_BYTES, MAX_HANDSHAKE_PACKET_BYTES } from './limits.ts';

// What may sit in the buffer beyond one whole packet: the rest of the socket
// read that completed it (net reads 64 KiB at most; TLS records are smaller).
const READ_SLACK_BYTES = 64 * 1024;

interface Waiter {
  header: 2 | 4;
  maxBytes: number;
  resolve: (packet: Buffer) => void;
  reject: (e: Error) => void;
}

export class SocketReader {
  /** received chunks not yet handed out; joined only when a packet is complete */
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private waiter: Waiter | null = null;
  private closedWith: ErlDistError | null = null;
  private readonly describePeer: string;
  private readonly socket: Duplex;
  /** the cap of the read in progress, or of the last one while none is pending;
   * the first bytes of a connection are the (small) handshake's */
  private maxBytes = MAX_HANDSHAKE_PACKET_BYTES;

  constructor(socket: Duplex, describePeer: string) {
    this.describePeer = describePeer;
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      if (this.closedWith !== null) return;
      this.chunks.push(chunk);
      this.bufferedBytes += chunk.length;
      if (this.bufferedBytes > 4 + this.maxBytes + READ_SLACK_BYTES) {
        this.refuse(`sent more than ${this.maxBytes} bytes without completing a message`);
        return;
      }
      this.pump();
    });
    const onGone = (err?: Error): void => {
      if (this.closedWith !== null) return;
      const detail = err === undefined ? 'closed the connection' : `connection failed (${err.message})`;
      this.closedWith = new ErlDistError('closed', `${this.describePeer} ${detail}`, { cause: err });
      this.pump();
    };
    socket.on('end', () => onGone());
    socket.on('close', () => onGone());
    socket.on('error', (err: Error) => onGone(err));
  }

  get isClosed(): boolean {
    return this.closedWith !== null;
  }

  /** The next packet whose length prefix is `header` bytes (big-endian), of at most `maxBytes`. */
  next(header: 2 | 4, maxBytes = MAX_FRAME_BYTES): Promise<Buffer> {
    if (this.waiter !== null) {
      return Promise.reject(new ErlDistError('protocol', 'internal error: two concurrent reads on one connection'));
    }
    return new Promise<Buffer>((resolve, reject) => {
      this.maxBytes = maxBytes;
      this.waiter = { header, maxBytes, resolve, reject };
      this.pump();
    });
  }

  /** Fails a pending read (e.g. on timeout) without waiting for the socket. */
  abort(e: Error): void {
    const w = this.waiter;
    this.waiter = null;
    w?.reject(e);
  }

  /** the first `n` buffered bytes, as one buffer (joins chunks only as far as needed) */
  private peek(n: number): Buffer {
    let first = this.chunks[0] as Buffer;
    if (first.length < n) {
      first = Buffer.concat(this.chunks);
      this.chunks = [first];
    }
    return first;
  }

  private take(from: number, to: number): Buffer {
    const all = this.peek(to);
    const packet = all.subarray(from, to);
    const rest = all.subarray(to);
    this.chunks = rest.length === 0 ? [] : [rest];
    this.bufferedBytes -= to;
    return packet;
  }

  private refuse(what: string): void {
    this.closedWith = new ErlDistError('limit', `${this.describePeer} ${what}`);
    this.chunks = [];
    this.bufferedBytes = 0;
    this.socket.destroy();
    const w = this.waiter;
    this.waiter = null;
    w?.reject(this.closedWith);
  }

  private pump(): void {
    const w = this.waiter;
    if (w === null) return;
    // Packets that arrived before a close are still handed out.
    if (this.bufferedBytes >= w.header) {
      const head = this.peek(w.header);
      const len = w.header === 2 ? head.readUInt16BE(0) : head.readUInt32BE(0);
      if (len > w.maxBytes) {
        this.refuse(`announced a ${len}-byte message; the limit is ${w.maxBytes}`);
        return;
      }
      if (this.bufferedBytes >= w.header + len) {
        const packet = this.take(w.header, w.header + len);
        this.waiter = null;
        w.resolve(packet);
        return;
      }
    }
    if (this.closedWith !== null) {
      this.waiter = null;
      w.reject(this.closedWith);
    }
  }
}
