// EPMD client: PORT_PLEASE2_REQ to find a node's distribution port, and
// NAMES_REQ to tell the operator which nodes *are* registered when the one
// they asked for is not.

import { ErlDistError } from './errors.ts';
import { MAX_EPMD_REPLY_BYTES } from './limits.ts';

const PORT_PLEASE2_REQ = 122; // 'z'
const PORT2_RESP = 119; // 'w'
const NAMES_REQ = 110; // 'n'

export interface EpmdAddress {
  host: string;
  port: number;
}

export interface NodePortInfo {
  port: number;
  /** 77 = normal Erlang node, 72 = hidden (C node) */
  nodeType: number;
  protocol: number;
  highestVersion: number;
  lowestVersion: number;
  name: string;
}

/** ERL_EPMD_PORT is honoured like erl does; 4369 otherwise. */
export function defaultEpmdPort(env: NodeJS.ProcessEnv = process.env): number {
  const v = env['ERL_EPMD_PORT'];
  const n = v === undefined ? Number.NaN : Number(v);
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : 4369;
}

/** ERL_DIST_PORT as erl reads it: the fixed distribution port of an EPMD-less node */
export function distPortFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env['ERL_DIST_PORT'];
  if (v === undefined || !/^\d{1,5}$/.test(v.trim())) return undefined;
  const n = Number(v.trim());
  return n >= 1 && n <= 65535 ? n : undefined;
}

/**
 * One request, one response: EPMD closes the connection after answering.
 * Nothing authenticates EPMD, so its answer is capped (MAX_EPMD_REPLY_BYTES):
 * one that goes on is cut off there, not buffered until the timeout.
 */
function exchange(addr: EpmdAddress, request: Buffer, timeoutMs: number, purpose: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    // loaded on first use: the sidecar imports this whether or not an Erlang notifier is configured
    const socket = process.getBuiltinModule('node:net').connect({ host: addr.host, port: addr.port });
    let settled = false;
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err !== null) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    const timer = setTimeout(() => {
      finish(
        new ErlDistError(
          'timeout',
          `EPMD at ${addr.host}:${addr.port} did not answer within ${timeoutMs} ms (${purpose})`,
        ),
      );
    }, timeoutMs);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (c: Buffer) => {
      received += c.length;
      if (received > MAX_EPMD_REPLY_BYTES) {
        finish(
          new ErlDistError(
            'limit',
            `EPMD at ${addr.host}:${addr.port} sent more than ${MAX_EPMD_REPLY_BYTES} bytes (${purpose}); ` +
              'no EPMD answer is that long: is that port really EPMD?',
          ),
        );
        return;
      }
      chunks.push(c);
    });
    socket.on('end', () => finish(null));
    socket.on('close', () => finish(null));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      const why =
        e.code === 'ECONNREFUSED'
          ? 'connection refused (no EPMD is listening there)'
          : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN'
            ? `host ${addr.host} does not resolve (${e.code}); check the host part of the node name`
            : e.message;
      finish(
        new ErlDistError('unreachable', `cannot reach EPMD at ${addr.host}:${addr.port} (${purpose}): ${why}`, {
          cause: e,
        }),
      );
    });
  });
}

function request(body: Buffer): Buffer {
  const out = Buffer.alloc(2 + body.length);
  out.writeUInt16BE(body.length, 0);
  body.copy(out, 2);
  return out;
}

export function parsePort2Response(resp: Buffer): NodePortInfo | null {
  if (resp.length < 2 || resp[0] !== PORT2_RESP) {
    throw new ErlDistError('protocol', `EPMD sent an unexpected PORT_PLEASE2 response (${resp.length} bytes)`);
  }
  if (resp[1] !== 0) return null;
  if (resp.length < 12) throw new ErlDistError('protocol', 'EPMD sent a truncated PORT2_RESP');
  const nlen = resp.readUInt16BE(10);
  if (resp.length < 12 + nlen) throw new ErlDistError('protocol', 'EPMD sent a truncated node name');
  return {
    port: resp.readUInt16BE(2),
    nodeType: resp[4] as number,
    protocol: resp[5] as number,
    highestVersion: resp.readUInt16BE(6),
    lowestVersion: resp.readUInt16BE(8),
    name: resp.subarray(12, 12 + nlen).toString('utf8'),
  };
}

/** Port of `alive` (the part of the node name before '@'), or null if EPMD does not know it. */
export async function lookupNodePort(addr: EpmdAddress, alive: string, timeoutMs: number): Promise<NodePortInfo | null> {
  const body = Buffer.concat([Buffer.from([PORT_PLEASE2_REQ]), Buffer.from(alive, 'utf8')]);
  const resp = await exchange(addr, request(body), timeoutMs, `looking up node "${alive}"`);
  return parsePort2Response(resp);
}

/** Names registered in EPMD, from NAMES_REQ ("name foo at port 4242" lines), as EPMD sent them: unescaped. */
export async function registeredNames(addr: EpmdAddress, timeoutMs: number): Promise<string[]> {
  const resp = await exchange(addr, request(Buffer.from([NAMES_REQ])), timeoutMs, 'listing names');
  if (resp.length < 4) return [];
  return resp
    .subarray(4)
    .toString('utf8')
    .split('\n')
    .map((line) => /^name (\S+) at port \d+/.exec(line)?.[1])
    .filter((n): n is string => n !== undefined);
}
