// The initiating side of the version-6 distribution handshake (OTP 23+):
//   -> send_name 'N' Flags Creation Name
//   <- status 's' ok | ok_simultaneous | nok | not_allowed | alive
//   <- challenge 'N' Flags Challenge Creation Name
//   -> challenge_reply 'r' OurChallenge MD5(Cookie ++ Challenge)
//   <- challenge_ack 'a' MD5(Cookie ++ OurChallenge)
// The node proves it knows the cookie too: a wrong ack digest is rejected.
// Handshake packets carry a 2-byte length over TCP; inet_tls_dist runs its
// TLS socket with {packet, 4}, so inside TLS the length takes 4 bytes.

import type { Duplex } from 'node:stream';
import { MANDATORY_25, OUR_FLAGS, REQUIRED_FROM_PEER } from './dist-flags.ts';
import { ErlDistError } from './errors.ts';
import { MAX_ATOM_CHARS, MAX_HANDSHAKE_PACKET_BYTES } from './limits.ts';
import { peerText } from './peer-text.ts';
import type { SocketReader } from './socket-reader.ts';

export type LengthHeader = 2 | 4;

function framed(body: Buffer, header: LengthHeader): Buffer {
  const out = Buffer.alloc(header + body.length);
  if (header === 2) out.writeUInt16BE(body.length, 0);
  else out.writeUInt32BE(body.length, 0);
  body.copy(out, header);
  return out;
}

export interface HandshakeParams {
  ourName: string;
  ourCreation: number;
  cookie: string;
  /** the node we mean to reach; the peer's own name must match when given */
  expectedPeer: string | undefined;
  /** how errors name the peer */
  peerLabel: string;
  flags?: bigint;
  /** 2 over TCP, 4 over TLS */
  lengthHeader?: LengthHeader;
}

export interface HandshakeResult {
  peerName: string;
  peerFlags: bigint;
  peerCreation: number;
}

/** MD5(Cookie ++ integer_to_list(Challenge)), Challenge read as unsigned 32-bit. */
export function challengeDigest(cookie: string, challenge: number): Buffer {
  return process.getBuiltinModule('node:crypto').createHash('md5')
    .update(Buffer.from(cookie, 'latin1'))
    .update(String(challenge >>> 0))
    .digest();
}

export function encodeSendName(name: string, flags: bigint, creation: number, header: LengthHeader = 2): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const body = Buffer.alloc(1 + 8 + 4 + 2 + nameBytes.length);
  body.write('N', 0, 'latin1');
  body.writeBigUInt64BE(flags, 1);
  body.writeUInt32BE(creation >>> 0, 9);
  body.writeUInt16BE(nameBytes.length, 13);
  nameBytes.copy(body, 15);
  return framed(body, header);
}

export function encodeChallengeReply(ourChallenge: number, digest: Buffer, header: LengthHeader = 2): Buffer {
  const body = Buffer.alloc(1 + 4 + 16);
  body.write('r', 0, 'latin1');
  body.writeUInt32BE(ourChallenge >>> 0, 1);
  digest.copy(body, 5);
  return framed(body, header);
}

export interface Challenge {
  flags: bigint;
  challenge: number;
  creation: number;
  name: string;
}

export function parseChallenge(packet: Buffer, peerLabel: string): Challenge {
  if (packet.length < 19 || packet[0] !== 0x4e /* N */) {
    const tag = packet.length === 0 ? 'an empty packet' : `tag ${JSON.stringify(String.fromCharCode(packet[0] as number))}`;
    throw new ErlDistError(
      'protocol',
      `${peerLabel} sent ${tag} where a version-6 challenge ('N') was expected; is it an Erlang node of OTP 23 or newer?`,
    );
  }
  const nlen = packet.readUInt16BE(17);
  if (packet.length < 19 + nlen) throw new ErlDistError('protocol', `${peerLabel} sent a truncated challenge`);
  const name = packet.subarray(19, 19 + nlen).toString('utf8');
  // A node name is an atom on the node: no real node has a longer one.
  if ([...name].length > MAX_ATOM_CHARS) {
    throw new ErlDistError('protocol', `${peerLabel} calls itself by a name longer than ${MAX_ATOM_CHARS} characters ("${peerText(name)}"); no Erlang node can`);
  }
  return {
    flags: packet.readBigUInt64BE(1),
    challenge: packet.readUInt32BE(9),
    creation: packet.readUInt32BE(13),
    name,
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, reader: SocketReader, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const e = new ErlDistError('timeout', `${what} did not complete within ${ms} ms`);
      reader.abort(e);
      reject(e);
    }, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function describeStatus(status: string, params: HandshakeParams): ErlDistError {
  const peer = params.peerLabel;
  switch (status) {
    case 'nok':
      return new ErlDistError('handshake', `${peer} is connecting to us at the same time (status nok); retry`);
    case 'not_allowed':
      return new ErlDistError(
        'handshake',
        `${peer} does not allow connections from ${params.ourName} (status not_allowed: check net_kernel:allow/1 on the node)`,
      );
    default:
      return new ErlDistError('protocol', `${peer} answered our name with an unknown status "${peerText(status)}"`);
  }
}

async function run(socket: Duplex, reader: SocketReader, params: HandshakeParams): Promise<HandshakeResult> {
  const peer = params.peerLabel;
  const flags = params.flags ?? OUR_FLAGS;
  const header = params.lengthHeader ?? 2;
  socket.write(encodeSendName(params.ourName, flags, params.ourCreation, header));

  let statusPacket: Buffer;
  try {
    statusPacket = await reader.next(header, MAX_HANDSHAKE_PACKET_BYTES);
  } catch (e) {
    if (e instanceof ErlDistError && e.kind === 'closed') {
      throw new ErlDistError(
        'handshake',
        `${peer} closed the connection after we sent our name ${params.ourName}: ` +
          'it refused the name (see the node\'s log), or the port is not a plain-TCP Erlang distribution port ' +
          '(a node with -proto_dist inet_tls needs the TLS options)',
        { cause: e },
      );
    }
    if (e instanceof ErlDistError && e.kind === 'limit') {
      // A TLS server's alert reads as a ~5 KB length: the commonest way here.
      throw new ErlDistError(
        'handshake',
        `${e.message} where a handshake status was expected: the port is not a plain-TCP Erlang distribution port ` +
          '(a node with -proto_dist inet_tls needs the TLS options)',
        { cause: e },
      );
    }
    throw e;
  }
  if (statusPacket[0] !== 0x73 /* s */) {
    throw new ErlDistError('protocol', `${peer} did not send a handshake status; is this an Erlang distribution port?`);
  }
  const status = statusPacket.subarray(1).toString('latin1');
  if (status === 'alive') {
    // A connection under our name already exists (an earlier process of this
    // agent that died without closing). We are the same logical node: replace it.
    socket.write(framed(Buffer.from('strue', 'latin1'), header));
  } else if (status !== 'ok' && status !== 'ok_simultaneous') {
    throw describeStatus(status, params);
  }

  const challenge = parseChallenge(await reader.next(header, MAX_HANDSHAKE_PACKET_BYTES), peer);
  if (params.expectedPeer !== undefined && challenge.name !== params.expectedPeer) {
    throw new ErlDistError(
      'handshake',
      `reached a node that calls itself "${peerText(challenge.name)}", not ${params.expectedPeer}: check the node name and port`,
    );
  }
  if ((challenge.flags & REQUIRED_FROM_PEER) !== REQUIRED_FROM_PEER || (challenge.flags & MANDATORY_25) === 0n) {
    throw new ErlDistError(
      'handshake',
      `${peer} lacks distribution features we need (flags 0x${challenge.flags.toString(16)}); it must run OTP 23 or newer`,
    );
  }

  // node:crypto on first use: the sidecar imports this whether or not an Erlang notifier is configured
  const { randomBytes, timingSafeEqual } = process.getBuiltinModule('node:crypto');
  const ourChallenge = randomBytes(4).readUInt32BE(0);
  socket.write(encodeChallengeReply(ourChallenge, challengeDigest(params.cookie, challenge.challenge), header));

  let ack: Buffer;
  try {
    ack = await reader.next(header, MAX_HANDSHAKE_PACKET_BYTES);
  } catch (e) {
    if (e instanceof ErlDistError && e.kind === 'closed') {
      throw new ErlDistError(
        'cookie',
        `the node rejected our cookie: ${peer} closed the connection after our challenge reply ` +
          '(check that the cookie file holds the same cookie as the node\'s -setcookie/.erlang.cookie)',
        { cause: e },
      );
    }
    throw e;
  }
  if (ack.length !== 17 || ack[0] !== 0x61 /* a */) {
    throw new ErlDistError('protocol', `${peer} sent a malformed challenge acknowledgement`);
  }
  const expected = challengeDigest(params.cookie, ourChallenge);
  if (!timingSafeEqual(ack.subarray(1), expected)) {
    throw new ErlDistError(
      'cookie',
      `${peer} answered our challenge with a wrong digest: it does not know our cookie (or is not who it claims to be); connection refused`,
    );
  }
  return { peerName: challenge.name, peerFlags: challenge.flags, peerCreation: challenge.creation };
}

export function performHandshake(
  socket: Duplex,
  reader: SocketReader,
  params: HandshakeParams,
  timeoutMs: number,
): Promise<HandshakeResult> {
  return withTimeout(run(socket, reader, params), timeoutMs, reader, `the distribution handshake with ${params.peerLabel}`);
}
