// Handshake and framing edge cases against a scripted peer (test/fakes/
// erldist-peer.ts): what we send, how we judge what the peer sends back, and
// how we treat ticks, atom-cache headers and garbage after the handshake.

import net from 'node:net';
import t, { type Test } from 'tap';
import { ErlDistClient } from '../../agent/erldist/client.ts';
import {
  DFLAG_PUBLISHED,
  DFLAG_DIST_HDR_ATOM_CACHE,
  DFLAG_FRAGMENTS,
  DFLAG_UNLINK_ID,
  DFLAG_V4_NC,
  MANDATORY_25,
} from '../../agent/erldist/dist-flags.ts';
import { ErlDistError } from '../../agent/erldist/errors.ts';
import { encodeTerm } from '../../agent/erldist/etf-encode.ts';
import { MAX_FRAME_BYTES } from '../../agent/erldist/limits.ts';
import { atom, isAtom, Tuple, type Pid, type Ref, type Term } from '../../agent/erldist/terms.ts';
import { startFakePeer, type PeerScript, type PeerSession } from '../fakes/erldist-peer.ts';

const COOKIE = 'fake-peer-cookie';
const PEER = 'fake@127.0.0.1';

async function withPeer(t: Test, script: Partial<PeerScript>, opts: { connectTimeoutMs?: number } = {}) {
  const peer = await startFakePeer({ name: PEER, cookie: COOKIE, ...script });
  const warnings: string[] = [];
  const client = new ErlDistClient({
    node: PEER,
    cookie: COOKIE,
    port: peer.port,
    connectTimeoutMs: opts.connectTimeoutMs ?? 3000,
    callTimeoutMs: 3000,
    onWarning: (m) => warnings.push(m),
  });
  t.teardown(async () => {
    client.close();
    await peer.close();
  });
  return { peer, client, warnings };
}

async function rejected(p: Promise<unknown>): Promise<ErlDistError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ErlDistError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

/** a pass-through frame: 112, control term, message term */
function passThrough(control: Term, message: Term): Buffer {
  return Buffer.concat([Buffer.from([112]), encodeTerm(control), encodeTerm(message)]);
}

function reply(s: PeerSession, to: Pid, ref: Ref, value: Term): void {
  s.frame(passThrough(new Tuple([2, atom(''), to]), new Tuple([ref, value])));
}

t.test('what we send: a hidden node with the mandatory flags, and a correct digest', async (t) => {
  const { peer, client } = await withPeer(t, { onCall: (s, c) => reply(s, c.from, c.ref, atom('pong')) });
  t.strictSame(await client.call('net_adm', 'ping', []), atom('pong'));
  const [sent] = peer.sendNames;
  t.equal(sent?.tag, 'N', 'version-6 send_name');
  t.equal(sent?.name, client.localNodeName);
  const flags = sent?.flags ?? 0n;
  t.equal(flags & DFLAG_PUBLISHED, 0n, 'not published: a hidden node');
  t.equal(flags & MANDATORY_25, MANDATORY_25, 'all flags OTP 25 requires');
  t.equal(flags & (DFLAG_V4_NC | DFLAG_UNLINK_ID), DFLAG_V4_NC | DFLAG_UNLINK_ID, 'and those OTP 26 requires');
  t.equal(flags & (DFLAG_DIST_HDR_ATOM_CACHE | DFLAG_FRAGMENTS), 0n, 'no atom cache, no fragments');
  t.same(peer.clientDigestOk, [true], 'our challenge reply carries MD5(cookie ++ challenge)');
});

t.test('a peer whose ack digest is wrong is rejected', async (t) => {
  const { client } = await withPeer(t, { ackDigest: 'wrong' });
  const e = await rejected(client.connect());
  t.equal(e.kind, 'cookie');
  t.match(e.message, /wrong digest: it does not know our cookie/);
  t.equal(client.connected, false);
});

t.test('statuses other than ok', async (t) => {
  await t.test('not_allowed', async (t) => {
    const { client } = await withPeer(t, { status: 'not_allowed' });
    const e = await rejected(client.connect());
    t.equal(e.kind, 'handshake');
    t.match(e.message, /does not allow connections from .*not_allowed/);
  });
  await t.test('nok', async (t) => {
    const { client } = await withPeer(t, { status: 'nok' });
    const e = await rejected(client.connect());
    t.equal(e.kind, 'handshake');
    t.match(e.message, /status nok/);
  });
  await t.test('alive: an old connection of ours is replaced', async (t) => {
    const { client, peer } = await withPeer(t, { status: 'alive', onCall: (s, c) => reply(s, c.from, c.ref, 1) });
    t.equal(await client.call('m', 'f', []), 1);
    t.same(peer.aliveAnswers, ['strue']);
  });
  await t.test('an unknown status', async (t) => {
    const { client } = await withPeer(t, { status: 'weird' });
    const e = await rejected(client.connect());
    t.equal(e.kind, 'protocol');
    t.match(e.message, /unknown status "weird"/);
  });
});

t.test('a peer that stops answering times out', async (t) => {
  await t.test('after our name', async (t) => {
    const { client } = await withPeer(t, { silentAfter: 'name' }, { connectTimeoutMs: 400 });
    const started = Date.now();
    const e = await rejected(client.connect());
    t.equal(e.kind, 'timeout');
    t.match(e.message, /handshake with node fake@127.0.0.1 .* did not complete within/);
    t.ok(Date.now() - started < 2000);
  });
  await t.test('after our challenge reply', async (t) => {
    const { client } = await withPeer(t, { silentAfter: 'reply' }, { connectTimeoutMs: 400 });
    const e = await rejected(client.connect());
    t.equal(e.kind, 'timeout');
  });
});

t.test('peers we cannot talk to', async (t) => {
  await t.test('a pre-OTP-23 challenge', async (t) => {
    const { client } = await withPeer(t, { challengeTag: 'n' });
    const e = await rejected(client.connect());
    t.equal(e.kind, 'protocol');
    t.match(e.message, /OTP 23 or newer/);
  });
  await t.test('missing required flags', async (t) => {
    const { client } = await withPeer(t, { flags: 0x4n });
    const e = await rejected(client.connect());
    t.equal(e.kind, 'handshake');
    t.match(e.message, /lacks distribution features/);
  });
  await t.test('a different node on that port', async (t) => {
    const peer = await startFakePeer({ name: 'other@127.0.0.1', cookie: COOKIE });
    const client = new ErlDistClient({ node: PEER, cookie: COOKIE, port: peer.port });
    t.teardown(async () => {
      client.close();
      await peer.close();
    });
    const e = await rejected(client.connect());
    t.match(e.message, /calls itself "other@127.0.0.1", not fake@127.0.0.1/);
  });
});

t.test('after the handshake', async (t) => {
  await t.test('ticks are answered', async (t) => {
    let session: PeerSession | undefined;
    const { client, peer } = await withPeer(t, { onConnected: (s) => (session = s) });
    await client.connect();
    for (let i = 0; i < 3; i++) session?.write(Buffer.alloc(4));
    for (let i = 0; i < 50 && peer.ticksReceived < 3; i++) await new Promise((r) => setTimeout(r, 20));
    t.equal(peer.ticksReceived, 3, 'one empty frame back per tick');
  });

  await t.test('replies through SEND_SENDER and ALIAS_SEND', async (t) => {
    const { client } = await withPeer(t, {
      onCall: (s, c) => {
        const op = isAtom((c.request as Tuple).elements[2], 'alias') ? 33 : 22;
        s.frame(passThrough(new Tuple([op, c.from, op === 33 ? c.ref : c.from]), new Tuple([c.ref, atom('via_' + String(op))])));
      },
    });
    t.strictSame(await client.call('m', 'sender', []), atom('via_22'));
    t.strictSame(await client.call('m', 'alias', []), atom('via_33'));
  });

  await t.test('messages under an atom-cache distribution header', async (t) => {
    // 131 68 N Flags Refs..., then control and message without version bytes,
    // atoms as ATOM_CACHE_REF (82) indexes into this header's refs.
    const header = (index: number, atomText: string | null): Buffer => {
      if (atomText === null) return Buffer.from([131, 68, 1, 0x00, index]); // an entry defined earlier
      return Buffer.concat([Buffer.from([131, 68, 1, 0x08, index, atomText.length]), Buffer.from(atomText)]);
    };
    const bare = (term: Term): Buffer => encodeTerm(term).subarray(1);
    let calls = 0;
    const { client } = await withPeer(t, {
      onCall: (s, c) => {
        calls++;
        const control = Buffer.concat([Buffer.from([104, 3, 97, 2]), bare(atom('')), bare(c.from)]);
        const message = Buffer.concat([Buffer.from([104, 2]), bare(c.ref), Buffer.from([82, 0])]);
        s.frame(Buffer.concat([header(5, calls === 1 ? 'cached_ok' : null), control, message]));
      },
    });
    t.strictSame(await client.call('m', 'f', []), atom('cached_ok'), 'a new cache entry');
    t.strictSame(await client.call('m', 'f', []), atom('cached_ok'), 'the same entry reused by a later frame');
  });

  await t.test('garbage frames are skipped with a warning; the connection lives on', async (t) => {
    const { client, warnings } = await withPeer(t, {
      onCall: (s, c) => {
        s.frame(Buffer.from([1, 2, 3]));
        s.frame(Buffer.from([112, 131, 255]));
        reply(s, c.from, c.ref, atom('still_here'));
      },
    });
    t.strictSame(await client.call('m', 'f', []), atom('still_here'));
    t.equal(warnings.length, 2);
    t.match(warnings[0], /unknown distribution frame type 1/);
    t.match(warnings[1], /unknown tag 255/);
  });

  await t.test('an absurd frame length drops the connection instead of buffering', async (t) => {
    const { client } = await withPeer(t, {
      onCall: (s) => s.write(Buffer.from([0x40, 0, 0, 0, 112])),
    });
    const e = await rejected(client.call('m', 'f', []));
    t.equal(e.kind, 'closed');
    t.match(e.message, `announced a 1073741824-byte message; the limit is ${MAX_FRAME_BYTES}`);
    t.equal(client.connected, false);
  });

  await t.test('the peer closes during a call', async (t) => {
    const { client } = await withPeer(t, { onCall: (s) => s.close() });
    const e = await rejected(client.call('m', 'f', [1, 2]));
    t.equal(e.kind, 'closed');
    t.match(e.message, /went away while m:f\/2 was running/);
  });
});

t.test('EPMD that misbehaves', async (t) => {
  const serve = async (onConnection: (s: net.Socket) => void): Promise<number> => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => {
      sockets.push(s);
      onConnection(s);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    t.teardown(() => {
      sockets.forEach((s) => s.destroy());
      server.close();
    });
    const addr = server.address();
    return typeof addr === 'object' && addr !== null ? addr.port : 0;
  };

  const silent = await serve(() => undefined);
  const c1 = new ErlDistClient({ node: 'x@127.0.0.1', cookie: COOKIE, epmdPort: silent, connectTimeoutMs: 300 });
  const e1 = await rejected(c1.connect());
  t.equal(e1.kind, 'timeout');
  // EPMD gets what is left of the connect deadline: on a loaded machine a millisecond or more is gone
  t.match(e1.message, /EPMD at 127.0.0.1:\d+ did not answer within (2\d\d|300) ms/);

  const garbage = await serve((s) => s.end(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')));
  const c2 = new ErlDistClient({ node: 'x@127.0.0.1', cookie: COOKIE, epmdPort: garbage });
  const e2 = await rejected(c2.connect());
  t.equal(e2.kind, 'protocol');
  t.match(e2.message, /EPMD sent an unexpected PORT_PLEASE2 response/);
});
