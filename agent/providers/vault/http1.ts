// HTTP/1.1 framing for the Vault transport, pure: the request head we send
// and an incremental reader of the answer. The agent talks to one kind of
// server with a handful of requests, so this covers what Vault (Go's
// net/http) and the proxies in front of it send: a status line, headers, and
// a body framed by Content-Length, by chunks, or by the connection's close.
// node:http does the same work through a request object, an agent, a parser
// and two streams per call, which in the image's interpreter-only V8
// (--lite-mode) cost about three times the CPU of a whole check.
//
// Everything read is hostile until checked: the head is bounded
// (MAX_HEAD_BYTES), the body by the caller's limit before it is buffered,
// chunk-size lines by length, and anything that is not plain HTTP/1.x
// framing (two lengths, an unknown transfer coding, a folded header, an
// upgrade) fails with BAD_HTTP instead of being guessed at.

/** the code of an answer that is not HTTP/1.x as Vault sends it, for errors.ts */
export const BAD_HTTP = 'ERR_VAULT_BAD_HTTP';
/** the code of a body over the caller's bound, for errors.ts */
export const TOO_LARGE = 'ERR_VAULT_BODY_TOO_LARGE';

/** status line plus headers (and a chunked body's trailers): Go's default
 * limit for a server's headers is 1 MiB, Vault sends well under 1 KiB; 64 KiB
 * leaves room for any proxy in front of it */
export const MAX_HEAD_BYTES = 64 * 1024;
/** a chunk-size line: hex digits and extensions, which Vault never sends */
const MAX_CHUNK_LINE = 1024;

/** an Error with a Node-style code, as the transport's callers classify them */
export function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** `what` is kept as a property too: errors.ts words the operator's message from it, never by cutting this one apart */
const badHttp = (what: string): Error => Object.assign(codedError(BAD_HTTP, `the answer is not HTTP/1.1 as Vault sends it: ${what}`), { what });

/** a body's first buffer when its length is not declared; it doubles as it fills */
const FIRST_BODY_BUFFER = 16 * 1024;

/** the most a declared Content-Length reserves before its bytes arrive */
const RESERVE_AT_MOST = 1024 * 1024;

/** The body's bytes in one buffer that grows by doubling, up to the caller's
 * bound: a server sending a million one-byte chunks (or reads) costs the
 * bytes, not a Buffer object per piece (~150 bytes each, which made a 32 MiB
 * bound worth gigabytes). */
class BodyBuffer {
  #buf = Buffer.alloc(0);
  #size = 0;
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** room for a declared length, up front (it is already within the bound),
   * but no more than RESERVE_AT_MOST: a server that declares 32 MiB and sends
   * a trickle does not get 32 MiB held for it; a real body grows by doubling */
  reserve(n: number): void {
    const want = Math.min(n, RESERVE_AT_MOST);
    if (want > this.#buf.length) this.#resize(want);
  }

  append(piece: Buffer): void {
    const need = this.#size + piece.length;
    if (need > this.#buf.length) this.#resize(Math.min(this.#limit, Math.max(need, this.#buf.length * 2, FIRST_BODY_BUFFER)));
    piece.copy(this.#buf, this.#size);
    this.#size = need;
  }

  bytes(): Buffer {
    return this.#buf.subarray(0, this.#size);
  }

  #resize(capacity: number): void {
    const next = Buffer.allocUnsafe(capacity);
    this.#buf.copy(next, 0, 0, this.#size);
    this.#buf = next;
  }
}

// RFC 9110 token characters; a value may hold visible ASCII, spaces, tabs and
// obs-text, never CR, LF or NUL (which would end the header early and let a
// token file or a path inject a header of its own)
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const BAD_PATH = /[^\x21-\x7e]/;

/**
 * The request head, as latin1 text. Throws, as node:http does and with its
 * codes, for a header name or value or a path that would break the framing;
 * a value is never quoted in the message (it may be a token).
 */
export function requestHead(method: string, path: string, host: string, headers: Record<string, string>, bodyBytes: number | undefined): string {
  if (BAD_PATH.test(path)) throw Object.assign(new TypeError('Request path contains unescaped characters'), { code: 'ERR_UNESCAPED_CHARACTERS' });
  let head = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n`;
  for (const name in headers) {
    const value = headers[name]!;
    if (!HEADER_NAME.test(name)) throw Object.assign(new TypeError(`Header name must be a valid HTTP token ["${name.slice(0, 64)}"]`), { code: 'ERR_INVALID_HTTP_TOKEN' });
    if (BAD_HEADER_VALUE.test(value)) throw Object.assign(new TypeError(`Invalid character in header content ["${name}"]`), { code: 'ERR_INVALID_CHAR' });
    head += `${name}: ${value}\r\n`;
  }
  if (bodyBytes !== undefined) head += `Content-Length: ${bodyBytes}\r\n`;
  return `${head}\r\n`;
}

/** what the transport keeps of an answer's head */
export interface ResponseHead {
  status: number;
  contentType: string | undefined;
  /** a 429's or 503's Retry-After, raw */
  retryAfter: string | undefined;
  /** the connection may carry the next request once this answer is read */
  keepAlive: boolean;
}

// where the reader is in the answer (plain numbers: type stripping has no enums)
const State = { Head: 0, Length: 1, ChunkSize: 2, ChunkData: 3, ChunkEnd: 4, Trailers: 5, UntilClose: 6, Done: 7 } as const;
type State = (typeof State)[keyof typeof State];

const CRLF = Buffer.from('\r\n');
const CRLFCRLF = Buffer.from('\r\n\r\n');
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [^\r\n]*)?$/;
const HEADER_LINE = /^([^:\s]+):[ \t]*(.*?)[ \t]*$/;

/**
 * Reads one answer from the bytes of a connection, pushed as they arrive.
 * push() and end() return true once the answer is complete; they throw a
 * coded error (BAD_HTTP, TOO_LARGE) for an answer that breaks the framing or
 * the bound, after which the connection must be closed.
 */
export class ResponseReader {
  readonly #limit: number;
  #state: State = State.Head;
  /** bytes of an unfinished head, chunk-size line or trailer section */
  #pending: Buffer | undefined;
  /** what remains of the body (Length) or of the current chunk (ChunkData) */
  #remaining = 0;
  #bodyBytes = 0;
  readonly #body: BodyBuffer;
  #head: ResponseHead | undefined;
  /** bytes came after the end of the answer: the connection is not reused */
  #extra = false;

  constructor(limit: number) {
    this.#limit = limit;
    this.#body = new BodyBuffer(limit);
  }

  get head(): ResponseHead | undefined {
    return this.#head;
  }

  /** the answer is complete and nothing came after it */
  get reusable(): boolean {
    return this.#state === State.Done && !this.#extra && this.#head!.keepAlive;
  }

  body(): Buffer {
    return this.#body.bytes();
  }

  push(data: Buffer): boolean {
    let buf = data;
    while (buf.length > 0) {
      switch (this.#state) {
        case State.Head:
          buf = this.#readHead(buf);
          break;
        case State.Length:
        case State.ChunkData: {
          const n = Math.min(this.#remaining, buf.length);
          this.#body.append(n === buf.length ? buf : buf.subarray(0, n));
          this.#remaining -= n;
          buf = buf.subarray(n);
          if (this.#remaining === 0) this.#state = this.#state === State.Length ? State.Done : State.ChunkEnd;
          break;
        }
        case State.ChunkSize:
          buf = this.#readChunkSize(buf);
          break;
        case State.ChunkEnd:
          buf = this.#readChunkEnd(buf);
          break;
        case State.Trailers:
          buf = this.#readTrailers(buf);
          break;
        case State.UntilClose:
          this.#grow(buf.length);
          this.#body.append(buf);
          buf = buf.subarray(buf.length);
          break;
        case State.Done:
          this.#extra = true;
          return true;
      }
    }
    return this.#state === State.Done;
  }

  /** the peer closed its side: completes an answer whose body runs to the close */
  end(): boolean {
    if (this.#state === State.UntilClose) this.#state = State.Done;
    return this.#state === State.Done;
  }

  /** the unfinished line or section so far, plus buf */
  #gather(buf: Buffer): Buffer {
    const all = this.#pending === undefined ? buf : Buffer.concat([this.#pending, buf]);
    this.#pending = undefined;
    return all;
  }

  #grow(n: number): void {
    this.#bodyBytes += n;
    if (this.#bodyBytes > this.#limit) throw Object.assign(codedError(TOO_LARGE, `Vault's answer is larger than ${this.#limit} bytes`), { limit: this.#limit });
  }

  #readHead(buf: Buffer): Buffer {
    const from = this.#pending === undefined ? 0 : Math.max(0, this.#pending.length - 3);
    const all = this.#pending === undefined ? buf : Buffer.concat([this.#pending, buf]);
    const end = all.indexOf(CRLFCRLF, from);
    if (end === -1) {
      if (all.length > MAX_HEAD_BYTES) throw badHttp(`headers longer than ${MAX_HEAD_BYTES} bytes`);
      this.#pending = all;
      return buf.subarray(buf.length);
    }
    if (end > MAX_HEAD_BYTES) throw badHttp(`headers longer than ${MAX_HEAD_BYTES} bytes`);
    this.#pending = undefined;
    this.#startBody(all.toString('latin1', 0, end));
    return all.subarray(end + 4);
  }

  #startBody(text: string): void {
    const lines = text.split('\r\n');
    const status = STATUS_LINE.exec(lines[0]!);
    if (!status) throw badHttp('no HTTP/1.x status line');
    const code = Number(status[2]);
    let length: number | undefined;
    let chunked = false;
    let close = status[1] === '0';
    let contentType: string | undefined;
    let retryAfter: string | undefined;
    for (let i = 1; i < lines.length; i++) {
      const m = HEADER_LINE.exec(lines[i]!);
      if (!m || !HEADER_NAME.test(m[1]!)) throw badHttp('a header line that is not "name: value"');
      const value = m[2]!;
      switch (m[1]!.toLowerCase()) {
        case 'content-length': {
          if (!/^\d{1,15}$/.test(value)) throw badHttp('a Content-Length that is not a number');
          const n = Number(value);
          if (length !== undefined && length !== n) throw badHttp('two different Content-Length headers');
          length = n;
          break;
        }
        case 'transfer-encoding':
          if (value.toLowerCase() !== 'chunked' || chunked) throw badHttp('a transfer coding other than chunked');
          chunked = true;
          break;
        case 'connection':
          if (/(?:^|,)\s*close\s*(?:,|$)/i.test(value)) close = true;
          break;
        case 'content-type':
          contentType ??= value;
          break;
        case 'retry-after':
          retryAfter ??= value;
          break;
      }
    }
    // an interim answer (100 Continue, 103 Early Hints): the real one follows
    if (code < 200) {
      if (code === 101) throw badHttp('a protocol switch (HTTP 101)');
      return;
    }
    if (chunked && length !== undefined) throw badHttp('both Content-Length and chunked');
    this.#head = { status: code, contentType, retryAfter, keepAlive: !close };
    if (code === 204 || code === 304) {
      this.#state = State.Done;
    } else if (chunked) {
      this.#state = State.ChunkSize;
    } else if (length !== undefined) {
      this.#grow(length);
      this.#body.reserve(length);
      this.#remaining = length;
      this.#state = length === 0 ? State.Done : State.Length;
    } else {
      // no framing: the body is everything until the server closes
      this.#head.keepAlive = false;
      this.#state = State.UntilClose;
    }
  }

  #readChunkSize(buf: Buffer): Buffer {
    const all = this.#gather(buf);
    const end = all.indexOf(CRLF);
    if (end > MAX_CHUNK_LINE) throw badHttp(`a chunk-size line longer than ${MAX_CHUNK_LINE} bytes`);
    if (end === -1) {
      if (all.length > MAX_CHUNK_LINE) throw badHttp(`a chunk-size line longer than ${MAX_CHUNK_LINE} bytes`);
      this.#pending = all;
      return buf.subarray(buf.length);
    }
    // leading zeros are valid and carry nothing; what follows them must fit 32 bits
    const m = /^0*([0-9a-fA-F]{1,8})[ \t]*(?:;.*)?$/.exec(all.toString('latin1', 0, end));
    if (!m) throw badHttp('a chunk size that is not hexadecimal');
    const size = parseInt(m[1]!, 16);
    if (size === 0) {
      this.#state = State.Trailers;
    } else {
      this.#grow(size);
      this.#remaining = size;
      this.#state = State.ChunkData;
    }
    return all.subarray(end + 2);
  }

  /** the CRLF after a chunk's data */
  #readChunkEnd(buf: Buffer): Buffer {
    const all = this.#gather(buf);
    if (all.length < 2) {
      this.#pending = all;
      return buf.subarray(buf.length);
    }
    if (all[0] !== 13 || all[1] !== 10) throw badHttp('chunk data longer than its size');
    this.#state = State.ChunkSize;
    return all.subarray(2);
  }

  /** trailer lines after the last chunk, up to an empty line; read and dropped */
  #readTrailers(buf: Buffer): Buffer {
    const all = this.#gather(buf);
    if (all[0] === 13 && all[1] === 10) {
      this.#state = State.Done;
      return all.subarray(2);
    }
    const end = all.indexOf(CRLFCRLF);
    if (end === -1) {
      if (all.length > MAX_HEAD_BYTES) throw badHttp(`trailers longer than ${MAX_HEAD_BYTES} bytes`);
      this.#pending = all;
      return buf.subarray(buf.length);
    }
    this.#state = State.Done;
    return all.subarray(end + 4);
  }
}
