// `erlang-call` (the built bundle, as a child process) against peers that
// need no cookie to attack: a hostile EPMD and a peer that misbehaves in the
// handshake. Each run must end with exit 4 and one escaped, cut line on
// stderr, within bounded memory (peak RSS of the child) and time.

import t from 'tap';
import { MAX_EPMD_REPLY_BYTES, MAX_HANDSHAKE_PACKET_BYTES } from '../../agent/erldist/limits.ts';
import { startFakePeer } from '../fakes/erldist-peer.ts';
import { HOSTILE_NODE } from '../fakes/hostile-erldist.ts';
import { startHostileEpmd } from '../fakes/hostile-epmd.ts';
import { HOSTILE_COOKIE, hostileCli } from '../helpers/hostile-cli.ts';

const cli = await hostileCli(t);
const ESC_NAME = '\u001b[2J\u001b]0;pwned\u0007evil\nerlang-call: forged line\r\u009b31m\u202egnp.exe';

t.test('an EPMD reply without end is cut at the cap', async (t) => {
  const epmd = await startHostileEpmd({ kind: 'flood' });
  t.teardown(() => epmd.close());
  const r = await cli.run(['--node', HOSTILE_NODE, '--epmd-port', String(epmd.port), '--connect-timeout', '20000', 'm:f()']);
  cli.checkRefused(t, r, new RegExp(`EPMD at 127\\.0\\.0\\.1:${epmd.port} sent more than ${MAX_EPMD_REPLY_BYTES} bytes`), 15_000);
});

t.test('an EPMD that trickles its reply is ended by the connect timeout', async (t) => {
  const epmd = await startHostileEpmd({ kind: 'trickle', intervalMs: 100 });
  t.teardown(() => epmd.close());
  const r = await cli.run(['--node', HOSTILE_NODE, '--epmd-port', String(epmd.port), '--connect-timeout', '1500', 'm:f()']);
  // EPMD gets what is left of the connect deadline: on a loaded machine a millisecond or more is gone
  cli.checkRefused(t, r, /EPMD at 127\.0\.0\.1:\d+ did not answer within 1(4\d\d|500) ms/, 15_000);
});

t.test("EPMD's names are shown escaped and cut", async (t) => {
  // the first name forges a line of its own; the second hides in control characters
  const names = [Buffer.from('a at port 1\nname \u001b[2Jforged'), Buffer.from('\u001b]0;pwned\u0007\u009b31m\u202eevil'), Buffer.alloc(60 * 1024, 'n'), ...Array.from({ length: 30 }, (_, i) => Buffer.from(`node${i}\u001b[1m`))];
  const epmd = await startHostileEpmd({ kind: 'names', names });
  t.teardown(() => epmd.close());
  const r = await cli.run(['--node', HOSTILE_NODE, '--epmd-port', String(epmd.port), 'm:f()']);
  cli.checkRefused(t, r, /is not registered in EPMD .*\(registered there: a, \\x\{1b\}\[2Jforged, \\x\{1b\}\]0;pwned\\x\{7\}\\x\{9b\}31m\\x\{202e\}evil, n{60}\.\.\.\(61380 more characters\), node0\\x\{1b\}\[1m, .*, node5\\x\{1b\}\[1m and 24 more\)/, 15_000);
});

t.test('a node name with escape sequences and newlines is escaped', async (t) => {
  const peer = await startFakePeer({ name: HOSTILE_NODE, cookie: HOSTILE_COOKIE, challengeName: Buffer.from(ESC_NAME) });
  t.teardown(() => peer.close());
  const r = await cli.run(['--node', HOSTILE_NODE, '--port', String(peer.port), 'm:f()']);
  cli.checkRefused(t, r, /reached a node that calls itself "\\x\{1b\}\[2J\\x\{1b\}\]0;pwned\\x\{7\}evil\\x\{a\}erlang-call: forged line\\x\{d\}\\x\{9b\}31m\\x\{202e\}gnp\.exe", not hostile@127\.0\.0\.1/, 15_000);
});

t.test('a 64 KiB node name is refused before it is buffered', async (t) => {
  const peer = await startFakePeer({ name: HOSTILE_NODE, cookie: HOSTILE_COOKIE, challengeName: Buffer.alloc(65_000, 'n') });
  t.teardown(() => peer.close());
  const r = await cli.run(['--node', HOSTILE_NODE, '--port', String(peer.port), 'm:f()']);
  cli.checkRefused(t, r, new RegExp(`announced a 65019-byte message; the limit is ${MAX_HANDSHAKE_PACKET_BYTES}`), 15_000);
});

t.test('a status with escapes is shown escaped', async (t) => {
  const peer = await startFakePeer({ name: HOSTILE_NODE, cookie: HOSTILE_COOKIE, status: `no\u001b[31m\nforged` });
  t.teardown(() => peer.close());
  const r = await cli.run(['--node', HOSTILE_NODE, '--port', String(peer.port), 'm:f()']);
  cli.checkRefused(t, r, /answered our name with an unknown status "no\\x\{1b\}\[31m\\x\{a\}forged"/, 15_000);
});
