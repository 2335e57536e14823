// The HTTP/1.1 framing the Vault transport uses (agent/providers/vault/http1.ts),
// pure: answers Vault and proxies send, read whole, byte by byte and at every
// split, give the same status, headers and body; hostile answers (not HTTP,
// two lengths, unknown codings, folded or endless headers, lying chunk sizes,
// bodies over the bound) fail with a code and a message in our words, never
// the bytes sent; a request head never carries a line break from a header
// value or a path.

import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BAD_HTTP, MAX_HEAD_BYTES, ResponseReader, TOO_LARGE, requestHead } from '../../agent/providers/vault/http1.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const CANARY = 'CANARY-framing-7f3e9a1c';
const LIMIT = 4096;

interface Read {
  status: number;
  contentType: string | undefined;
  retryAfter: string | undefined;
  body: string;
  reusable: boolean;
}

/** feeds the pieces; `closed`: the peer closes after the last one */
function read(pieces: Buffer[], closed = false, limit = LIMIT): Read {
  const r = new ResponseReader(limit);
  let done = false;
  for (const p of pieces) done = r.push(p);
  if (closed) done = r.end();
  if (!done) throw new Error('the answer is not complete');
  const h = r.head!;
  return { status: h.status, contentType: h.contentType, retryAfter: h.retryAfter, body: r.body().toString('utf8'), reusable: r.reusable };
}

/** the same bytes whole, one byte at a time, and split in two at every offset */
function everySplit(text: string, closed = false): Read[] {
  const b = Buffer.from(text, 'latin1');
  const out = [read([b], closed), read([...b].map((x) => Buffer.from([x])), closed)];
  for (let i = 1; i < b.length; i++) out.push(read([b.subarray(0, i), b.subarray(i)], closed));
  return out;
}

function failure(pieces: Buffer[], limit = LIMIT): Error & { code?: string; limit?: number } {
  const r = new ResponseReader(limit);
  try {
    for (const p of pieces) r.push(p);
    r.end();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected the reader to fail');
}

const JSON_BODY = `{"data":{"current_version":3,"note":"${CANARY}"}}`;

t.test('answers as Vault and proxies send them read the same at any split', async (t) => {
  const cases: Array<{ name: string; text: string; closed?: boolean; want: Partial<Read> }> = [
    {
      name: 'Content-Length (what Vault sends)',
      text: `HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Type: application/json\r\nDate: Thu, 03 Dec 2026 23:00:00 GMT\r\nContent-Length: ${JSON_BODY.length}\r\n\r\n${JSON_BODY}`,
      want: { status: 200, contentType: 'application/json', body: JSON_BODY, reusable: true },
    },
    {
      name: 'chunked, with an extension and a trailer',
      text: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n5;x=y\r\n${JSON_BODY.slice(0, 5)}\r\n${(JSON_BODY.length - 5).toString(16)}\r\n${JSON_BODY.slice(5)}\r\n0\r\nX-Trailer: t\r\n\r\n`,
      want: { status: 200, body: JSON_BODY, reusable: true },
    },
    {
      name: 'chunked without trailers',
      text: `HTTP/1.1 429 Too Many Requests\r\ntransfer-encoding: CHUNKED\r\nRetry-After: 4\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
      want: { status: 429, retryAfter: '4', body: '{}', reusable: true },
    },
    {
      name: 'no length: the body runs to the close (Go\'s answer to plain HTTP on a TLS port)',
      text: 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n',
      closed: true,
      want: { status: 400, body: 'Client sent an HTTP request to an HTTPS server.\n', reusable: false },
    },
    { name: '204: no body whatever the headers say', text: 'HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n', want: { status: 204, body: '', reusable: true } },
    {
      name: 'interim answers (100, 103) before the real one',
      text: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}',
      want: { status: 200, body: '{}', reusable: true },
    },
    { name: 'Connection: close', text: 'HTTP/1.1 307 Temporary Redirect\r\nLocation: http://elsewhere/\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n', want: { status: 307, body: '', reusable: false } },
    { name: 'HTTP/1.0 with a length', text: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}', want: { status: 200, body: '{}', reusable: false } },
    { name: 'a status line without a reason, the same length twice', text: 'HTTP/1.1 503\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}', want: { status: 503, body: '{}', reusable: true } },
  ];
  for (const c of cases) {
    const all = everySplit(c.text, c.closed);
    t.match(all[0], c.want, c.name);
    t.ok(
      all.every((r) => JSON.stringify(r) === JSON.stringify(all[0])),
      `${c.name}: the same at each of ${all.length} ways of cutting it`,
    );
  }
});

t.test('bytes after the answer: complete, but the connection is not reused', async (t) => {
  const r = new ResponseReader(LIMIT);
  t.equal(r.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n')), true);
  t.equal(r.reusable, false);
  const r2 = new ResponseReader(LIMIT);
  r2.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}'));
  t.equal(r2.reusable, true, 'the same answer alone leaves it reusable');
  t.equal(r2.push(Buffer.from('x')), true);
  t.equal(r2.reusable, false, 'until anything else arrives');
});

t.test('an answer cut short is not complete', async (t) => {
  for (const text of ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{"a"', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a"', 'HTTP/1.1 200 OK\r\nContent-Len']) {
    const r = new ResponseReader(LIMIT);
    t.equal(r.push(Buffer.from(text)), false);
    t.equal(r.end(), false, `closed after ${JSON.stringify(text.slice(-12))}: not an answer`);
  }
});

t.test('answers that are not HTTP/1.x framing fail with BAD_HTTP, in our words', async (t) => {
  const bigHeader = `HTTP/1.1 200 OK\r\nX-Pad: ${CANARY.repeat(Math.ceil(MAX_HEAD_BYTES / CANARY.length) + 1)}\r\n\r\n{}`;
  const cases: Array<[string, string, RegExp]> = [
    ['not HTTP at all', `SSH-2.0-OpenSSH_9.6 ${CANARY}\r\n\r\n`, /no HTTP\/1\.x status line/],
    ['HTTP/2 status line', `HTTP/2 200\r\n\r\n`, /no HTTP\/1\.x status line/],
    ['a three-digit status only', `HTTP/1.1 20 OK\r\n\r\n`, /no HTTP\/1\.x status line/],
    ['a header without a colon', `HTTP/1.1 200 OK\r\n${CANARY}\r\n\r\n`, /not "name: value"/],
    ['a folded header', `HTTP/1.1 200 OK\r\nX-A: a\r\n ${CANARY}\r\n\r\n`, /not "name: value"/],
    ['a header name with a space', `HTTP/1.1 200 OK\r\nX A: ${CANARY}\r\n\r\n`, /not "name: value"/],
    ['two different lengths', `HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`, /two different Content-Length/],
    ['a length list', `HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n{}`, /Content-Length that is not a number/],
    ['a negative length', `HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}`, /Content-Length that is not a number/],
    ['gzip coding', `HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n`, /transfer coding other than chunked/],
    ['chunked twice', `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n`, /transfer coding other than chunked/],
    ['a length and chunked', `HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`, /both Content-Length and chunked/],
    ['a protocol switch', `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n`, /protocol switch/],
    ['a chunk size that is not hex', `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n${CANARY}\r\n0\r\n\r\n`, /not hexadecimal/],
    ['a chunk longer than its size', `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}${CANARY}\r\n0\r\n\r\n`, /chunk data longer than its size/],
    ['a chunk-size line without end', `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1${' '.repeat(2000)}`, /chunk-size line longer than 1024 bytes/],
    ['headers past the bound, terminated', bigHeader, /headers longer than 65536 bytes/],
    ['headers past the bound, never ending', bigHeader.slice(0, -4), /headers longer than 65536 bytes/],
    ['trailers past the bound', `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: ${'t'.repeat(MAX_HEAD_BYTES)}\r\n`, /trailers longer than 65536 bytes/],
  ];
  const messages: string[] = [];
  for (const [name, text, why] of cases) {
    const b = Buffer.from(text, 'latin1');
    for (const pieces of [[b], [b.subarray(0, 7), b.subarray(7)]]) {
      const e = failure(pieces);
      t.equal(e.code, BAD_HTTP, `${name} (${pieces.length} piece${pieces.length > 1 ? 's' : ''})`);
      t.match(e.message, why, name);
      messages.push(e.message, String(e.stack));
    }
  }
  assertNoLeak(t, messages, [CANARY]);
});

t.test('the body bound: a declared length over it fails before any body byte; chunked and to-the-close at the byte that passes it', async (t) => {
  const declared = failure([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${LIMIT + 1}\r\n\r\n`)]);
  t.same([declared.code, declared.limit], [TOO_LARGE, LIMIT], 'a declared length: refused from the head alone');
  const chunk = (n: number) => `${n.toString(16)}\r\n${'x'.repeat(n)}\r\n`;
  const chunked = failure([Buffer.from(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunk(LIMIT)}${chunk(1)}0\r\n\r\n`)]);
  t.equal(chunked.code, TOO_LARGE, 'chunks adding up past it');
  const huge = failure([Buffer.from(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\n`)]);
  t.equal(huge.code, TOO_LARGE, 'one chunk announcing 4 GiB: refused from its size line');
  const open = failure([Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), Buffer.alloc(LIMIT), Buffer.alloc(1)]);
  t.equal(open.code, TOO_LARGE, 'a body running to the close');
  t.equal(read([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${LIMIT}\r\n\r\n`), Buffer.alloc(LIMIT, 'y')]).body.length, LIMIT, 'exactly the bound is read');
  t.equal(read([Buffer.from(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${chunk(LIMIT)}0\r\n\r\n`)]).body.length, LIMIT, 'exactly the bound, chunked');
});

t.test('requestHead: the head as sent; a line break in a header value or a path is refused, never quoted', async (t) => {
  t.equal(
    requestHead('GET', '/v1/secret/metadata/app?x=1', '127.0.0.1:8200', { accept: 'application/json', 'X-Vault-Token': 'hvs.abc' }, undefined),
    'GET /v1/secret/metadata/app?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8200\r\naccept: application/json\r\nX-Vault-Token: hvs.abc\r\n\r\n',
  );
  t.equal(requestHead('PUT', '/v1/sys/leases/revoke', 'vault:8200', {}, 0), 'PUT /v1/sys/leases/revoke HTTP/1.1\r\nHost: vault:8200\r\nContent-Length: 0\r\n\r\n');
  const refused = (f: () => unknown): Error & { code?: string } => {
    try {
      f();
    } catch (e) {
      return e as Error & { code?: string };
    }
    throw new Error('expected a refusal');
  };
  const messages: string[] = [];
  for (const value of [`${CANARY}\r\nX-Evil: 1`, `${CANARY}\n`, `${CANARY}\0`, `${CANARY}\x7f`]) {
    const e = refused(() => requestHead('GET', '/v1/x', 'h', { 'X-Vault-Token': value }, undefined));
    t.equal(e.code, 'ERR_INVALID_CHAR', `value ${JSON.stringify(value.slice(CANARY.length))}`);
    t.equal(e.message, 'Invalid character in header content ["X-Vault-Token"]');
    messages.push(e.message);
  }
  t.equal(refused(() => requestHead('GET', '/v1/x', 'h', { 'X-Vault\r\nToken': 'v' }, undefined)).code, 'ERR_INVALID_HTTP_TOKEN', 'a header name that is not a token');
  for (const path of ['/v1/a b', '/v1/a\r\nX-Evil: 1', '/v1/\u00e9']) {
    t.equal(refused(() => requestHead('GET', path, 'h', {}, undefined)).code, 'ERR_UNESCAPED_CHARACTERS', `path ${JSON.stringify(path)}`);
  }
  assertNoLeak(t, messages, [CANARY]);
});

/** heap plus Buffer memory after a full collection */
function memoryInUse(): number {
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}

t.test('a body in a million one-byte pieces costs its bytes, not a Buffer per piece', async (t) => {
  setFlagsFromString('--expose-gc');
  const PIECES = 1_000_000;
  const GENEROUS = 64 * 1024 * 1024;
  for (const [name, head, piece] of [
    ['chunked, one byte a chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', '1\r\nx\r\n'],
    ['to the close, one byte a read', 'HTTP/1.1 200 OK\r\n\r\n', 'x'],
    ['a declared length, one byte a read', `HTTP/1.1 200 OK\r\nContent-Length: ${PIECES}\r\n\r\n`, 'x'],
  ] as const) {
    const r = new ResponseReader(32 * 1024 * 1024);
    const before = memoryInUse();
    r.push(Buffer.from(head, 'latin1'));
    for (let i = 0; i < PIECES; i++) r.push(Buffer.from(piece, 'latin1'));
    const done = head.includes('chunked') ? r.push(Buffer.from('0\r\n\r\n')) : head.includes('Length') ? r.reusable : r.end();
    t.ok(done, `${name}: complete`);
    const grown = memoryInUse() - before;
    t.ok(grown < GENEROUS, `${name}: memory grew ${(grown / 1048576).toFixed(1)} MiB for a 1 MB body (bound 64 MiB)`);
    const body = r.body();
    t.equal(body.length, PIECES, `${name}: body length`);
    t.equal(body.indexOf(Buffer.from('y')), -1, `${name}: body is all x`);
    t.equal(body[0], 0x78);
    t.equal(body[PIECES - 1], 0x78);
  }
});

t.test('chunk sizes with leading zeros are read; more than 8 significant hex digits are not', async (t) => {
  const answer = (size: string, data: string) => `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\n${data}\r\n0000\r\n\r\n`;
  t.equal(read([Buffer.from(answer('000000010', 'x'.repeat(16)))]).body, 'x'.repeat(16), '000000010 is 16');
  t.equal(read([Buffer.from(answer(`${'0'.repeat(40)}2`, '{}'))]).body, '{}', 'many leading zeros');
  t.equal(read([Buffer.from(answer('00000002;ext=1', '{}'))]).body, '{}', 'with an extension');
  const e = failure([Buffer.from(answer('100000000', ''))]);
  t.equal(e.code, BAD_HTTP, '9 significant hex digits: refused');
  t.match(e.message, /not hexadecimal/);
});
