// A hidden Erlang node in TypeScript that does one thing: rpc calls via the
// target's `rex` server, over one long-lived connection (TCP or TLS).
//
//   const c = new ErlDistClient({ node: 'erlmcp@db-1', cookie });
//   const result = await c.call('erlmcp_config', 'reload', []);
//   c.close();
//
// Every wait has a deadline: EPMD lookup, connect, handshake and each call.

import { isReadRefusal, readBoundedSync } from '../files/bounded-read.ts';
import { READ_LIMITS } from '../files/read-limits.ts';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ByteWriter } from './byte-writer.ts';
import { AtomCache, type DistFrame, PASS_THROUGH, readDistFrame } from './dist-frame.ts';
import { defaultEpmdPort, lookupNodePort, registeredNames } from './epmd.ts';
import { ErlDistError, isErlDistError } from './errors.ts';
import { writeExternalTerm } from './etf-encode.ts';
import { formatAtom } from './format.ts';
import { performHandshake } from './handshake.ts';
import { peerText } from './peer-text.ts';
import { defaultLocalNodeName, splitNodeName } from './node-name.ts';
import { formatRpcReason } from './rpc-reason.ts';
import { SocketReader } from './socket-reader.ts';
import { MAX_UNSOLICITED_BYTES } from './limits.ts';
import { atom, Atom, isAtom, Pid, Ref, Tuple, type Term } from './terms.ts';

// Node builtins are loaded on first use (process.getBuiltinModule): the
// sidecar imports the Erlang notifier whether or not it is configured, and
// one that is not must not cost start-up time or memory.

const SEND = 2;
const REG_SEND = 6;
const SEND_TT = 12;
const SEND_SENDER = 22;
const ALIAS_SEND = 33;
const ALIAS_SEND_TT = 34;

export interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** name to verify in the node's certificate; defaults to the host we connect to */
  serverName?: string;
}

export interface ErlDistClientOptions {
  /** the target, e.g. erlmcp@db-1 (-sname) or erlmcp@db-1.example.com (-name) */
  node: string;
  cookie: string;
  /** address to connect to; defaults to the host part of `node` */
  host?: string;
  /** the node's distribution port: skips EPMD (nodes run with -erl_epmd_port / a fixed listen port) */
  port?: number;
  epmdHost?: string;
  /** defaults to $ERL_EPMD_PORT or 4369 */
  epmdPort?: number;
  /** our own (hidden) node name; defaults to erlmcp_secrets_<hash of hostname>@<host> */
  localNodeName?: string;
  /** TLS distribution (-proto_dist inet_tls) */
  tls?: TlsFiles;
  /** EPMD lookup + connect + handshake; default 10 s */
  connectTimeoutMs?: number;
  /** default per-call timeout; default 30 s */
  callTimeoutMs?: number;
  /** notified about frames we skip; the client itself never logs */
  onWarning?: (message: string) => void;
}

export interface CallOptions {
  /** overrides callTimeoutMs for this call */
  timeoutMs?: number;
  /** stops waiting (kind 'timeout'); the call itself may still run on the node */
  signal?: AbortSignal;
}

interface PendingCall {
  label: string;
  resolve: (t: Term) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface Connection {
  socket: Duplex;
  reader: SocketReader;
  peerName: string;
  /** bytes of frames that answered no call since the last one that did */
  unsolicited: number;
}

// EPMD's list decorates a "not registered" message: a few names, escaped and cut.
const MAX_NAMES_SHOWN = 10;
const MAX_NAME_CHARS_SHOWN = 60;

function describeNames(names: string[]): string {
  const shown = names.slice(0, MAX_NAMES_SHOWN).map((n) => peerText(n, MAX_NAME_CHARS_SHOWN));
  return names.length > MAX_NAMES_SHOWN ? `${shown.join(', ')} and ${names.length - MAX_NAMES_SHOWN} more` : shown.join(', ');
}

function callLabel(module: Atom, fn: Atom, args: Term[]): string {
  return `${formatAtom(module)}:${formatAtom(fn)}/${args.length}`;
}

export class ErlDistClient {
  readonly node: string;
  readonly localNodeName: string;
  private readonly opts: ErlDistClientOptions;
  private readonly creation: number;
  private readonly self: Pid;
  private readonly refSeed: [number, number];
  private refCounter = 0;
  private conn: Connection | null = null;
  private connecting: Promise<Connection> | null = null;
  private readonly pending = new Map<string, PendingCall>();
  private closedByUs = false;

  constructor(options: ErlDistClientOptions) {
    const target = splitNodeName(options.node, 'target node name');
    if (options.cookie === '') throw new ErlDistError('usage', 'the Erlang cookie is empty');
    if (options.port !== undefined && !(Number.isInteger(options.port) && options.port > 0 && options.port < 65536)) {
      throw new ErlDistError('usage', `distribution port ${options.port} is not a TCP port number`);
    }
    this.node = options.node;
    this.localNodeName = options.localNodeName ?? defaultLocalNodeName(target);
    splitNodeName(this.localNodeName, 'local node name');
    this.opts = options;
    // Creation tells incarnations of a node name apart; any non-zero value works
    // for a node that is not registered in EPMD.
    const { randomBytes, randomInt } = process.getBuiltinModule('node:crypto');
    this.creation = randomInt(1, 2 ** 31);
    this.self = new Pid(atom(this.localNodeName), 1, 0, this.creation);
    this.refSeed = [randomBytes(4).readUInt32BE(0), randomBytes(4).readUInt32BE(0)];
  }

  get connected(): boolean {
    return this.conn !== null;
  }

  /** Connects (EPMD lookup, TCP/TLS, handshake) unless already connected. */
  async connect(): Promise<void> {
    await this.ensureConnection();
  }

  private ensureConnection(): Promise<Connection> {
    if (this.conn !== null) return Promise.resolve(this.conn);
    if (this.connecting === null) {
      this.closedByUs = false;
      this.connecting = this.openConnection().finally(() => {
        this.connecting = null;
      });
    }
    return this.connecting;
  }

  private async resolvePort(host: string, deadline: number): Promise<number> {
    if (this.opts.port !== undefined) return this.opts.port;
    const { alive } = splitNodeName(this.node);
    const epmd = { host: this.opts.epmdHost ?? host, port: this.opts.epmdPort ?? defaultEpmdPort() };
    const info = await lookupNodePort(epmd, alive, Math.max(1, deadline - Date.now()));
    if (info !== null) return info.port;
    let known = '';
    try {
      const names = await registeredNames(epmd, Math.max(1, Math.min(2000, deadline - Date.now())));
      known = names.length === 0 ? ' (no node is registered there)' : ` (registered there: ${describeNames(names)})`;
    } catch {
      // The listing only decorates the message.
    }
    throw new ErlDistError(
      'not_found',
      `node ${this.node} is not registered in EPMD at ${epmd.host}:${epmd.port}${known}: is the node running, and is the name right?`,
    );
  }

  private openSocket(host: string, port: number, deadline: number): Promise<Duplex> {
    const where = `${this.node} at ${host}:${port}${this.opts.tls ? ' (TLS)' : ''}`;
    return new Promise((resolve, reject) => {
      const net = process.getBuiltinModule('node:net');
      let socket: Socket;
      const readyEvent = this.opts.tls ? 'secureConnect' : 'connect';
      if (this.opts.tls) {
        const t = this.opts.tls;
        let ca: Buffer, cert: Buffer, key: Buffer;
        try {
          // bounded, non-blocking reads: a FIFO or /dev/zero here must not
          // block the event loop (the connect deadline could never fire)
          ca = readBoundedSync(t.caFile, READ_LIMITS.tls);
          cert = readBoundedSync(t.certFile, READ_LIMITS.tls);
          key = readBoundedSync(t.keyFile, READ_LIMITS.tls);
        } catch (e) {
          const why = isReadRefusal(e) ? `${e.file} ${e.message}` : (e as Error).message;
          reject(new ErlDistError('usage', `cannot read the TLS files for ${this.node}: ${why}`, { cause: e }));
          return;
        }
        const serverName = t.serverName ?? host;
        const tls = process.getBuiltinModule('node:tls');
        socket = tls.connect({
          host,
          port,
          ca,
          cert,
          key,
          // SNI must not be an IP address; verification still checks the IP SAN.
          ...(net.isIP(serverName) === 0 ? { servername: serverName } : {}),
          checkServerIdentity: (_h, c) => tls.checkServerIdentity(serverName, c),
        });
      } else {
        socket = net.connect({ host, port });
      }
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ErlDistError('timeout', `connecting to ${where} did not complete within ${this.connectTimeout} ms`));
      }, Math.max(1, deadline - Date.now()));
      socket.once(readyEvent, () => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.setNoDelay(true);
        resolve(socket);
      });
      const onError = (e: NodeJS.ErrnoException): void => {
        clearTimeout(timer);
        socket.destroy();
        const why =
          e.code === 'ECONNREFUSED'
            ? 'connection refused (nothing listens there: is the node running, is the port right?)'
            : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN'
              ? `host ${host} does not resolve (${e.code}); check the host part of the node name or pass a host`
              : this.opts.tls
              ? `TLS handshake failed (${e.message}): check that the CA file signed the node's certificate ` +
                'and that the node trusts our client certificate'
              : e.message;
        reject(new ErlDistError('unreachable', `cannot connect to ${where}: ${why}`, { cause: e }));
      };
      socket.once('error', onError);
    });
  }

  private get connectTimeout(): number {
    return this.opts.connectTimeoutMs ?? 10_000;
  }

  private async openConnection(): Promise<Connection> {
    const deadline = Date.now() + this.connectTimeout;
    const host = this.opts.host ?? splitNodeName(this.node).host;
    const port = await this.resolvePort(host, deadline);
    const socket = await this.openSocket(host, port, deadline);
    const peerLabel = `node ${this.node} (${host}:${port})`;
    // The reader owns the socket's 'data', 'error' and 'close' events from here on.
    const reader = new SocketReader(socket, peerLabel);
    try {
      const hs = await performHandshake(
        socket,
        reader,
        {
          ourName: this.localNodeName,
          ourCreation: this.creation,
          cookie: this.opts.cookie,
          expectedPeer: this.node,
          peerLabel,
          lengthHeader: this.opts.tls ? 4 : 2,
        },
        Math.max(1, deadline - Date.now()),
      );
      const conn: Connection = { socket, reader, peerName: hs.peerName, unsolicited: 0 };
      if (this.closedByUs) throw new ErlDistError('closed', `the client for ${this.node} was closed while connecting`);
      this.conn = conn;
      void this.receiveLoop(conn);
      return conn;
    } catch (e) {
      socket.destroy();
      throw e;
    }
  }

  private async receiveLoop(conn: Connection): Promise<void> {
    const cache = new AtomCache();
    for (;;) {
      let frame: Buffer;
      try {
        frame = await conn.reader.next(4);
      } catch (e) {
        this.connectionLost(conn, e as Error);
        return;
      }
      if (frame.length === 0) {
        // A tick: answering keeps the node's net_ticktime watchdog happy.
        conn.socket.write(Buffer.alloc(4));
        continue;
      }
      try {
        if (this.dispatch(readDistFrame(frame, cache))) conn.unsolicited = 0;
        else if ((conn.unsolicited += frame.length) > MAX_UNSOLICITED_BYTES) {
          throw new ErlDistError('limit', `${this.node} sent more than ${MAX_UNSOLICITED_BYTES} bytes that answer no call of ours; a node that serves calls does not`);
        }
      } catch (e) {
        // A frame over a limit is no accident of encoding: a peer that sends
        // one will send more, so the connection goes (and pending calls fail
        // with the reason) instead of decoding its next one.
        if (isErlDistError(e) && e.kind === 'limit') {
          this.connectionLost(conn, e);
          return;
        }
        this.opts.onWarning?.(`ignored a frame from ${this.node}: ${(e as Error).message}`);
      }
    }
  }

  /** true when the frame answered a call we wait for */
  private dispatch(frame: DistFrame): boolean {
    const control = frame.control;
    const op = control.elements[0];
    let to: Term | undefined;
    switch (op) {
      // {2, _, ToPid} {12, _, ToPid, Token} {22, From, ToPid} {33, From, Alias} {34, From, Alias, Token}
      case SEND:
      case SEND_TT:
      case SEND_SENDER:
      case ALIAS_SEND:
      case ALIAS_SEND_TT:
        to = control.elements[2];
        break;
      case REG_SEND:
        this.opts.onWarning?.(`ignored a message from ${this.node} to a registered name on our node`);
        return false;
      default:
        // Links, monitors, exits: we create none, so none concern a call.
        return false;
    }
    if (!(to instanceof Pid) && !(to instanceof Ref)) return false;
    // Only {Ref, Reply} for a call we wait for is decoded beyond its Ref.
    const answer = frame.replyRef();
    if (answer === undefined) return false;
    const key = answer.ref.ids.join('.');
    const call = this.pending.get(key);
    if (call === undefined) return false; // a late reply to a call that timed out
    let reply: Term;
    try {
      reply = answer.reply();
    } catch (e) {
      if (isErlDistError(e) && e.kind === 'limit') throw e; // the receive loop drops the connection
      this.pending.delete(key);
      clearTimeout(call.timer);
      call.reject(new ErlDistError('protocol', `node ${this.node} answered ${call.label} with a reply that cannot be decoded: ${(e as Error).message}`, { cause: e }));
      return true;
    }
    this.pending.delete(key);
    clearTimeout(call.timer);
    call.resolve(reply);
    return true;
  }

  private connectionLost(conn: Connection, cause: Error): void {
    if (this.conn === conn) this.conn = null;
    conn.socket.destroy();
    const byUs = this.closedByUs;
    for (const [key, call] of this.pending) {
      this.pending.delete(key);
      clearTimeout(call.timer);
      call.reject(
        byUs
          ? new ErlDistError('closed', `the client was closed while ${call.label} was running on ${this.node}`)
          : cause instanceof ErlDistError && (cause.kind === 'protocol' || cause.kind === 'limit')
            ? new ErlDistError(
                'closed',
                `dropped the connection to node ${this.node} while ${call.label} was running: ${cause.message}; ` +
                  'whether the call took effect is unknown',
                { cause },
              )
            : new ErlDistError(
                'closed',
                `node ${this.node} went away while ${call.label} was running (connection closed); ` +
                  'whether the call took effect is unknown',
                { cause },
              ),
      );
    }
  }

  private nextRef(): Ref {
    this.refCounter = (this.refCounter + 1) % 0x40000;
    // The first word of a reference holds 18 bits.
    return new Ref(atom(this.localNodeName), this.creation, [this.refCounter, this.refSeed[0], this.refSeed[1]]);
  }

  /**
   * rpc:call(Node, Module, Function, Args) as a gen_server call to `rex`:
   * {'$gen_call', {SelfPid, Ref}, {call, M, F, Args, user}} answered by {Ref, Result}.
   * Resolves with Result; {badrpc, Reason} rejects with kind 'badrpc'.
   */
  async call(module: string | Atom, fn: string | Atom, args: Term[], options: CallOptions = {}): Promise<Term> {
    const m = typeof module === 'string' ? atom(module) : module;
    const f = typeof fn === 'string' ? atom(fn) : fn;
    const label = callLabel(m, f, args);
    const timeoutMs = options.timeoutMs ?? this.opts.callTimeoutMs ?? 30_000;

    // Encode before connecting: a term we cannot send is the caller's bug.
    const ref = this.nextRef();
    const w = new ByteWriter(512);
    w.u32(0).u8(PASS_THROUGH);
    writeExternalTerm(w, new Tuple([REG_SEND, this.self, atom(''), atom('rex')]));
    writeExternalTerm(
      w,
      new Tuple([
        atom('$gen_call'),
        new Tuple([this.self, ref]),
        new Tuple([atom('call'), m, f, args, atom('user')]),
      ]),
    );
    const frame = w.toBuffer();
    frame.writeUInt32BE(frame.length - 4, 0);

    const signal = options.signal;
    const aborted = (): ErlDistError =>
      new ErlDistError('timeout', `${label} on node ${this.node} was aborted by the caller; it may still be running there`);
    if (signal?.aborted) throw aborted();

    // The connection attempt is shared and bounded by its own timeout; an
    // abort only stops this caller from waiting for it.
    const conn = await new Promise<Connection>((resolve, reject) => {
      const onAbort = (): void => reject(aborted());
      signal?.addEventListener('abort', onAbort, { once: true });
      this.ensureConnection()
        .then(resolve, reject)
        .finally(() => signal?.removeEventListener('abort', onAbort));
    });
    const key = ref.ids.join('.');
    const reply = await new Promise<Term>((resolve, reject) => {
      const settle = (e: ErlDistError): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(key);
        reject(e);
      };
      const onAbort = (): void => settle(aborted());
      const timer = setTimeout(() => {
        settle(
          new ErlDistError(
            'timeout',
            `node ${this.node} did not answer ${label} within ${timeoutMs} ms; the call may still be running there`,
          ),
        );
      }, timeoutMs);
      if (this.conn !== conn) {
        // The connection died between connecting and sending: nothing was sent.
        settle(new ErlDistError('closed', `the connection to ${this.node} closed before ${label} could be sent`));
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(key, {
        label,
        resolve: (t) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(t);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
        timer,
      });
      conn.socket.write(frame);
    });
    if (reply instanceof Tuple && reply.elements.length === 2 && isAtom(reply.elements[0], 'badrpc')) {
      const reason = reply.elements[1] as Term;
      throw new ErlDistError('badrpc', `${label} failed on node ${this.node}: {badrpc,${formatRpcReason(reason)}}`, {
        reason,
      });
    }
    return reply;
  }

  /** Closes the connection; pending calls fail with kind 'closed'. */
  close(): void {
    this.closedByUs = true;
    const conn = this.conn;
    this.conn = null;
    if (conn !== null) {
      conn.socket.end();
      conn.socket.destroy();
      this.connectionLost(conn, new Error('closed by client'));
    }
  }
}
