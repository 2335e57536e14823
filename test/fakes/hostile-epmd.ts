// An EPMD that answers like EPMD up to a point, then misbehaves: a reply
// that never ends, names built to forge terminal output, or bytes that
// trickle in so slowly that only the client's timeout can end the wait.
// Nothing authenticates EPMD, so each is open to anyone on the network.
// Listens on 127.0.0.1 only.

import net from 'node:net';

const PORT2_RESP = 119;
const NAMES_REQ = 110;

export type HostileEpmdMode =
  /** after a valid PORT2_RESP header, bytes without end (as fast as the client reads) */
  | { kind: 'flood' }
  /** "not registered" for every node, then a NAMES_RESP with these lines' names */
  | { kind: 'names'; names: Buffer[] }
  /** one byte of a valid reply every `intervalMs` */
  | { kind: 'trickle'; intervalMs: number };

export interface HostileEpmd {
  port: number;
  /** bytes written to clients so far */
  bytesSent(): number;
  close(): Promise<void>;
}

function portResponse(nodePort: number, name: string): Buffer {
  const n = Buffer.from(name);
  const b = Buffer.alloc(14 + n.length);
  b[0] = PORT2_RESP;
  b[1] = 0;
  b.writeUInt16BE(nodePort, 2);
  b[4] = 77;
  b[5] = 0;
  b.writeUInt16BE(6, 6);
  b.writeUInt16BE(5, 8);
  b.writeUInt16BE(n.length, 10);
  n.copy(b, 12);
  return b;
}

export async function startHostileEpmd(mode: HostileEpmdMode): Promise<HostileEpmd> {
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let sent = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', (req: Buffer) => {
      const isNames = req[2] === NAMES_REQ;
      if (mode.kind === 'flood') {
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        const header = portResponse(4370, 'x');
        sent += header.length;
        socket.write(header);
        const pump = (): void => {
          while (!socket.destroyed && socket.write(chunk)) sent += chunk.length;
          if (!socket.destroyed) sent += chunk.length;
        };
        socket.on('drain', pump);
        pump();
      } else if (mode.kind === 'names') {
        if (!isNames) {
          socket.end(Buffer.from([PORT2_RESP, 1]));
          sent += 2;
          return;
        }
        const lines = mode.names.map((n) => Buffer.concat([Buffer.from('name '), n, Buffer.from(' at port 4370\n')]));
        const body = Buffer.concat([Buffer.from([0, 0, 0x11, 0x11]), ...lines]);
        sent += body.length;
        socket.end(body);
      } else {
        const reply = portResponse(4370, 'x');
        let i = 0;
        const timer = setInterval(() => {
          if (socket.destroyed || i >= reply.length - 1) return; // never the last byte
          socket.write(reply.subarray(i, i + 1));
          sent++;
          i++;
        }, mode.intervalMs);
        timers.add(timer);
        socket.on('close', () => {
          clearInterval(timer);
          timers.delete(timer);
        });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr !== null ? addr.port : 0,
    bytesSent: () => sent,
    close: () =>
      new Promise((resolve) => {
        for (const t of timers) clearInterval(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
