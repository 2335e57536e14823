// A protocol-faithful Secret Manager v1 gRPC server, written from the
// official API reference because the Go module proxy does not serve the
// community emulator. It speaks the real service definition (the client
// library's own service.proto) over plaintext HTTP/2 on 127.0.0.1 and keeps
// the real semantics that matter to the agent:
// - response names carry the project NUMBER, requests may use id or number;
// - `latest` is the newest version whatever its state, so AccessSecretVersion
//   on a disabled newest version fails with FAILED_PRECONDITION (the
//   community emulator skips disabled versions here, real GCP does not);
// - NOT_FOUND / FAILED_PRECONDITION texts as the service words them;
// - payload.data_crc32c on every access, checked on AddSecretVersion.
// Faults (PERMISSION_DENIED, RESOURCE_EXHAUSTED, ...) are injected per method
// and secret, optionally with the richer error model's details (a
// google.rpc.Status in the `grpc-status-details-bin` trailer, carrying
// ErrorInfo and RetryInfo as Google APIs send with quota errors); calls are
// counted per method.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const SM_PROTOS = join(dirname(require.resolve('@google-cloud/secret-manager/package.json')), 'build', 'protos');
// google-gax exports no package.json; its entry is build/src/index.js
const GAX_PROTOS = join(dirname(require.resolve('google-gax')), '..', 'protos');

export type VersionState = 'ENABLED' | 'DISABLED' | 'DESTROYED';

interface StoredVersion {
  number: number;
  state: VersionState;
  data: Buffer | undefined;
  crc: number | undefined;
  createTime: { seconds: number; nanos: number };
}

interface StoredSecret {
  versions: StoredVersion[];
  aliases: Map<string, number>;
}

export interface InjectedStatus {
  code: grpc.status;
  details: string;
  /** google.rpc.RetryInfo.retry_delay: how long the service asks the client to wait */
  retryDelay?: { seconds: number; nanos?: number };
  /** google.rpc.ErrorInfo, as quota errors carry it (reason RATE_LIMIT_EXCEEDED, domain googleapis.com) */
  errorInfo?: { reason: string; domain: string; metadata?: Record<string, string> };
}

// Protocol Buffers wire format, written by hand (as the CRC below) so the
// fake does not share a decoder with the client it tests.
function varint(n: number | bigint): Buffer {
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n; // negative int32/int64: ten-byte two's complement
  const out: number[] = [];
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? byte | 0x80 : byte);
  } while (v > 0n);
  return Buffer.from(out);
}
const intField = (field: number, n: number): Buffer => (n === 0 ? Buffer.alloc(0) : Buffer.concat([varint(field << 3), varint(n)]));
const bytesField = (field: number, bytes: Buffer | string): Buffer => {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'utf8');
  return Buffer.concat([varint((field << 3) | 2), varint(b.length), b]);
};
/** google.protobuf.Any { type_url = 1; value = 2 } */
const any = (type: string, value: Buffer): Buffer => Buffer.concat([bytesField(1, `type.googleapis.com/${type}`), bytesField(2, value)]);

/** google.rpc.Status { code = 1; message = 2; repeated Any details = 3 }, as the trailer carries it */
export function statusDetailsBin(status: InjectedStatus): Buffer {
  const details: Buffer[] = [];
  if (status.errorInfo) {
    const { reason, domain, metadata = {} } = status.errorInfo;
    // ErrorInfo { reason = 1; domain = 2; map<string, string> metadata = 3 }: a map is repeated { key = 1; value = 2 }
    const entries = Object.entries(metadata).map(([k, v]) => bytesField(3, Buffer.concat([bytesField(1, k), bytesField(2, v)])));
    details.push(any('google.rpc.ErrorInfo', Buffer.concat([bytesField(1, reason), bytesField(2, domain), ...entries])));
  }
  if (status.retryDelay) {
    // RetryInfo { google.protobuf.Duration retry_delay = 1 }; Duration { int64 seconds = 1; int32 nanos = 2 }
    const duration = Buffer.concat([intField(1, status.retryDelay.seconds), intField(2, status.retryDelay.nanos ?? 0)]);
    details.push(any('google.rpc.RetryInfo', bytesField(1, duration)));
  }
  return Buffer.concat([intField(1, status.code), bytesField(2, status.details), ...details.map((d) => bytesField(3, d))]);
}

export interface GcpFake {
  /** host:port for the provider's `endpoint` */
  endpoint: string;
  projectId: string;
  projectNumber: string;
  calls: Map<string, number>;
  count(method: string): number;
  /** calls of `method` on this secret (injected failures included) */
  countFor(method: string, secret: string): number;
  resetCounts(): void;
  createSecret(secret: string): void;
  /** returns the new version number; createTime defaults to now */
  addVersion(secret: string, data: Buffer | string, createTime?: Date): number;
  setState(secret: string, version: number, state: VersionState): void;
  setAlias(secret: string, alias: string, version: number): void;
  fail(method: string, secret: string, status: InjectedStatus): void;
  clearFailures(): void;
  /** AccessSecretVersion answers with a wrong data_crc32c for this secret */
  corruptChecksum(secret: string): void;
  close(): Promise<void>;
}

// Bit-at-a-time CRC-32C, deliberately not the agent's table-driven code, so
// a bug in one does not hide in the other.
function crc32cBitwise(buf: Buffer): number {
  let crc = ~0 >>> 0;
  for (const byte of buf) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

export async function startGcpFake(opts: { projectId?: string; projectNumber?: string } = {}): Promise<GcpFake> {
  const projectId = opts.projectId ?? 'erlmcp-test';
  const projectNumber = opts.projectNumber ?? '804519340372';
  const secrets = new Map<string, StoredSecret>();
  const calls = new Map<string, number>();
  const bySecret = new Map<string, number>();
  let failures: { method: string; secret: string; status: InjectedStatus }[] = [];
  const corrupted = new Set<string>();

  const definition = protoLoader.loadSync('google/cloud/secretmanager/v1/service.proto', {
    includeDirs: [SM_PROTOS, GAX_PROTOS],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    google: { cloud: { secretmanager: { v1: { SecretManagerService: { service: grpc.ServiceDefinition } } } } };
  };
  const service = loaded.google.cloud.secretmanager.v1.SecretManagerService.service;

  const err = (code: grpc.status, details: string) => Object.assign(new Error(details), { code, details });
  const secretPath = (s: string) => `projects/${projectNumber}/secrets/${s}`;

  function parse(name: string): { secret: string; version?: string } | undefined {
    const m = /^projects\/([^/]+)\/secrets\/([^/]+)(?:\/versions\/([^/]+))?$/.exec(name);
    if (!m || (m[1] !== projectId && m[1] !== projectNumber)) return undefined;
    return m[3] === undefined ? { secret: m[2]! } : { secret: m[2]!, version: m[3] };
  }

  function resolve(name: string): { secret: string; stored: StoredSecret; version: StoredVersion } {
    const p = parse(name);
    if (!p || p.version === undefined) throw err(grpc.status.INVALID_ARGUMENT, `Invalid resource field value in the request.`);
    const stored = secrets.get(p.secret);
    if (!stored || (p.version === 'latest' && stored.versions.length === 0)) throw err(grpc.status.NOT_FOUND, `Secret [${secretPath(p.secret)}] not found or has no versions.`);
    let number: number | undefined;
    if (p.version === 'latest') number = stored.versions.at(-1)!.number;
    else if (/^\d+$/.test(p.version)) number = Number(p.version);
    else number = stored.aliases.get(p.version);
    const version = stored.versions.find((v) => v.number === number);
    if (!version) throw err(grpc.status.NOT_FOUND, `Secret Version [${secretPath(p.secret)}/versions/${p.version}] not found.`);
    return { secret: p.secret, stored, version };
  }

  function versionResource(secret: string, v: StoredVersion) {
    return { name: `${secretPath(secret)}/versions/${v.number}`, createTime: v.createTime, state: v.state, etag: `"${v.number}-${v.state}"`, clientSpecifiedPayloadChecksum: v.crc !== undefined };
  }

  type Handler = (request: Record<string, unknown>) => unknown;
  function unary(method: string, handler: Handler): grpc.handleUnaryCall<Record<string, unknown>, unknown> {
    return (call, callback) => {
      calls.set(method, (calls.get(method) ?? 0) + 1);
      try {
        const name = String(call.request.name ?? call.request.parent ?? '');
        const secret = parse(name)?.secret;
        const key = `${method} ${secret}`;
        bySecret.set(key, (bySecret.get(key) ?? 0) + 1);
        const injected = failures.find((f) => f.method === method && f.secret === secret);
        if (injected) {
          const e = err(injected.status.code, injected.status.details);
          if (injected.status.retryDelay || injected.status.errorInfo) {
            const trailers = new grpc.Metadata();
            trailers.set('grpc-status-details-bin', statusDetailsBin(injected.status));
            throw Object.assign(e, { metadata: trailers });
          }
          throw e;
        }
        callback(null, handler(call.request));
      } catch (e) {
        callback(e as grpc.ServiceError);
      }
    };
  }

  const server = new grpc.Server();
  server.addService(service, {
    GetSecretVersion: unary('GetSecretVersion', (req) => {
      const r = resolve(String(req.name));
      return versionResource(r.secret, r.version);
    }),
    AccessSecretVersion: unary('AccessSecretVersion', (req) => {
      const r = resolve(String(req.name));
      if (r.version.state !== 'ENABLED') {
        throw err(grpc.status.FAILED_PRECONDITION, `Secret Version [${secretPath(r.secret)}/versions/${r.version.number}] is in ${r.version.state} state.`);
      }
      const data = r.version.data ?? Buffer.alloc(0);
      const crc = corrupted.has(r.secret) ? (crc32cBitwise(data) ^ 1) >>> 0 : crc32cBitwise(data);
      return { name: `${secretPath(r.secret)}/versions/${r.version.number}`, payload: { data, dataCrc32c: String(crc) } };
    }),
  } as grpc.UntypedServiceImplementation);

  const port = await new Promise<number>((ok, ko) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? ko(e) : ok(p))));

  function mustGet(secret: string): StoredSecret {
    const s = secrets.get(secret);
    if (!s) throw new Error(`fake: no secret ${secret}`);
    return s;
  }

  return {
    endpoint: `127.0.0.1:${port}`,
    projectId,
    projectNumber,
    calls,
    count: (m) => calls.get(m) ?? 0,
    countFor: (method, secret) => bySecret.get(`${method} ${secret}`) ?? 0,
    resetCounts: () => {
      calls.clear();
      bySecret.clear();
    },
    createSecret(secret) {
      if (!secrets.has(secret)) secrets.set(secret, { versions: [], aliases: new Map() });
    },
    addVersion(secret, data, createTime = new Date()) {
      const s = mustGet(secret);
      const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
      const number = (s.versions.at(-1)?.number ?? 0) + 1;
      s.versions.push({ number, state: 'ENABLED', data: bytes, crc: crc32cBitwise(bytes), createTime: { seconds: Math.floor(createTime.getTime() / 1000), nanos: 0 } });
      return number;
    },
    setState(secret, version, state) {
      const v = mustGet(secret).versions.find((x) => x.number === version);
      if (!v) throw new Error(`fake: no version ${version} of ${secret}`);
      if (v.state === 'DESTROYED') throw new Error('fake: a destroyed version stays destroyed');
      v.state = state;
      if (state === 'DESTROYED') v.data = undefined;
    },
    setAlias(secret, alias, version) {
      mustGet(secret).aliases.set(alias, version);
    },
    fail: (method, secret, status) => void failures.push({ method, secret, status }),
    clearFailures: () => {
      failures = [];
      corrupted.clear();
    },
    corruptChecksum: (secret) => void corrupted.add(secret),
    close: () =>
      new Promise<void>((ok) => {
        server.tryShutdown(() => ok());
        setTimeout(() => {
          server.forceShutdown();
          ok();
        }, 2_000).unref();
      }),
  };
}
