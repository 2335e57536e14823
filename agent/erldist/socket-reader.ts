// Turns a stream socket into "give me the next length-prefixed packet".
// The handshake uses 2-byte lengths, the connection afterwards 4-byte ones.
// A pending read fails with ErlDistError('closed') when the peer goes away,
// so no caller can wait forever on a dead socket.

import type { Duplex } from 'node:stream';
import { ErlDistError } from './errors.ts';

// No reply to an rpc call is anywhere near this; a bigger length is a broken
// or hostile peer, and buffering towards it would only eat memory.
export const MAX_PACKET_BYTES = 256 * 1024 * 1024;

interface Waiter {
  header: 2 | 4;
  resolve: (packet: Buffer) => void;
  reject: (e: Error) => void;
}

export class SocketReader {
  private buffered: Buffer = Buffer.alloc(0);
  private waiter: Waiter | null = null;
  private closedWith: ErlDistError | null = null;
  private readonly describePeer: string;
  private readonly socket: Duplex;

  constructor(socket: Duplex, describePeer: string) {
    this.describePeer = describePeer;
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
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

  /** The next packet whose length prefix is `header` bytes (big-endian). */
  next(header: 2 | 4): Promise<Buffer> {
    if (this.waiter !== null) {
      return Promise.reject(new ErlDistError('protocol', 'internal error: two concurrent reads on one connection'));
    }
    return new Promise<Buffer>((resolve, reject) => {
      this.waiter = { header, resolve, reject };
      this.pump();
    });
  }

  /** Fails a pending read (e.g. on timeout) without waiting for the socket. */
  abort(e: Error): void {
    const w = this.waiter;
    this.waiter = null;
    w?.reject(e);
  }

  private pump(): void {
    const w = this.waiter;
    if (w === null) return;
    if (this.buffered.length >= w.header) {
      const len = w.header === 2 ? this.buffered.readUInt16BE(0) : this.buffered.readUInt32BE(0);
      if (len > MAX_PACKET_BYTES) {
        this.waiter = null;
        this.closedWith = new ErlDistError('protocol', `${this.describePeer} announced a ${len}-byte message; the limit is ${MAX_PACKET_BYTES}`);
        this.socket.destroy();
        w.reject(this.closedWith);
        return;
      }
      if (this.buffered.length >= w.header + len) {
        const packet = this.buffered.subarray(w.header, w.header + len);
        this.buffered = this.buffered.subarray(w.header + len);
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
