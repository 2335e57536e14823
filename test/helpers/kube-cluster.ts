// A real Kubernetes control plane on 127.0.0.1 for the webhook's tests:
// etcd, kube-apiserver (self-made CA, service-account keys, RBAC, the
// admission plugins a production cluster runs) and kube-controller-manager
// (so Deployments and Jobs make Pods, namespaces get their ServiceAccount and
// quotas their usage). There is no kubelet: Pods stay Pending, which is all
// the webhook needs, since admission happens when a Pod is created.
//
// The binaries come from test/setup/install-kubernetes.sh (cached outside
// the repository); without them the test fails naming that script.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { ecKeyPair, makeCertificate, type IssuedCert } from './openssl-certs.ts';
import { ROOT } from './cli.ts';

export const KUBE_INSTALL = 'bash test/setup/install-kubernetes.sh';
const INSTALL_SCRIPT = path.join(ROOT, 'test/setup/install-kubernetes.sh');

/** a version the install script pins (one place: the script), e.g. `version=v1.34.4` */
function pinned(variable: string): string {
  const m = new RegExp(`^${variable}=(v\\d+\\.\\d+\\.\\d+)$`, 'm').exec(readFileSync(INSTALL_SCRIPT, 'utf8'));
  if (!m) throw new Error(`${INSTALL_SCRIPT} has no ${variable}=vX.Y.Z line`);
  return m[1]!;
}

export const kubeVersion = (): string => pinned('version');

const cacheRoot = (): string => process.env.ERLMCP_SECRETS_CACHE || path.join(homedir(), '.cache', 'erlmcp-secrets');

export function kubeBinDir(): string {
  return path.join(cacheRoot(), `kubernetes-${kubeVersion()}`, 'bin');
}

/** cert-manager's CustomResourceDefinitions for Issuer and Certificate, as the install script keeps them */
export function certManagerCrds(): string[] {
  const dir = path.join(cacheRoot(), `cert-manager-${pinned('cm_version')}`, 'crds');
  const files = ['cert-manager.io_issuers.yaml', 'cert-manager.io_certificates.yaml'].map((f) => path.join(dir, f));
  if (files.some((f) => !existsSync(f))) throw new Error(`cert-manager's CRDs are not in ${dir}: run \`${KUBE_INSTALL}\``);
  return files;
}

const BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubectl'] as const;

/** why the cluster cannot start, naming the install command; undefined when every binary is there */
export function missingKubeBinaries(): string | undefined {
  const dir = kubeBinDir();
  const missing = BINARIES.filter((b) => !existsSync(path.join(dir, b)));
  if (!missing.length) return undefined;
  return `${missing.join(', ')} not built in ${dir}: run \`${KUBE_INSTALL}\` (builds Kubernetes ${kubeVersion()} from the Go module proxy, 20+ minutes once, then cached)`;
}

export interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  stdin?: string;
  timeoutMs?: number;
  cwd?: string;
}

export interface KubeCluster {
  /** https://127.0.0.1:PORT */
  server: string;
  kubeconfig: string;
  /** a scratch directory removed at teardown (manifests for `kubectl -f FILE`) */
  dir: string;
  caPem: string;
  /** how long the start took, until the API server was ready and the controllers ran */
  startMs: number;
  kubectl(args: string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** kubectl that must exit 0; its stdout */
  kubectlOk(args: string[], opts?: KubectlOptions): Promise<string>;
  /** `kubectl apply -f -` of YAML or JSON text */
  apply(manifest: string): Promise<string>;
  /** a namespace with these labels, once its `default` ServiceAccount exists (Pods need it) */
  namespace(name: string, labels?: Record<string, string>): Promise<void>;
  /** the object as JSON (`kubectl get -o json`) */
  getJson<T = Record<string, unknown>>(args: string[]): Promise<T>;
}

export async function startKubeCluster(t: Test): Promise<KubeCluster> {
  const missing = missingKubeBinaries();
  if (missing !== undefined) throw new Error(missing);
  const bin = kubeBinDir();
  const started = Date.now();
  const dir = mkdtempSync(path.join(tmpdir(), 'erlmcp-kube-'));
  const procs: Component[] = [];
  t.teardown(async () => {
    // controllers first, etcd last, so none logs a storm of errors about the others
    for (const p of procs.reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const pki = makePki();
  const files = {
    ca: write(dir, 'ca.crt', pki.ca.certPem),
    serverCert: write(dir, 'apiserver.crt', pki.server.certPem),
    serverKey: write(dir, 'apiserver.key', pki.server.keyPem),
    saPub: write(dir, 'sa.pub', pki.sa.publicKeyPem),
    saKey: write(dir, 'sa.key', pki.sa.privateKeyPem),
  };
  const [etcdPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const server = `https://127.0.0.1:${apiPort}`;
  const kubeconfig = write(dir, 'kubeconfig', kubeconfigText(server, pki.ca.certPem, pki.admin));

  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
  procs.push(
    startComponent(dir, path.join(bin, 'etcd'), [
      '--name=erlmcp-test',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=erlmcp-test=${peerUrl}`,
      '--unsafe-no-fsync', // a throw-away store on a loaded test machine
      '--log-level=warn',
    ]),
  );
  procs.push(
    startComponent(dir, path.join(bin, 'kube-apiserver'), [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${files.serverCert}`,
      `--tls-private-key-file=${files.serverKey}`,
      `--client-ca-file=${files.ca}`,
      `--cert-dir=${path.join(dir, 'apiserver-certs')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${files.saPub}`,
      `--service-account-signing-key-file=${files.saKey}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      '--authorization-mode=RBAC',
      // the plugins that touch a Pod on its way in, in a production cluster's set
      '--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,PodSecurity,ResourceQuota,MutatingAdmissionWebhook,ValidatingAdmissionWebhook',
      // the built-in endpoint reconciler would publish 127.0.0.1, which Endpoints refuse
      '--endpoint-reconciler-type=none',
      // a webhook behind a Service is called at its endpoints' addresses, not
      // its ClusterIP: there is no kube-proxy here, and a ClusterIP dial would
      // leave the machine by its default route
      '--enable-aggregator-routing=true',
      '--enable-priority-and-fairness=false',
      '--profiling=false',
    ]),
  );
  await waitReady(server, pki, procs, 180_000);
  procs.push(
    startComponent(dir, path.join(bin, 'kube-controller-manager'), [
      `--kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--secure-port=0',
      // only what the tests need: Pods from Deployments and Jobs, namespaces'
      // default ServiceAccount, and quota usage (ResourceQuota admission refuses
      // every Pod while a quota's status is unknown)
      '--controllers=serviceaccount,deployment,replicaset,job,resourcequota',
      `--root-ca-file=${files.ca}`,
    ]),
  );

  const kubectl = (args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> => runKubectl(bin, dir, kubeconfig, args, opts);
  const kubectlOk = async (args: string[], opts: KubectlOptions = {}): Promise<string> => {
    const r = await kubectl(args, opts);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const namespace = async (name: string, labels: Record<string, string> = {}): Promise<void> => {
    await kubectlOk(['apply', '-f', '-'], { stdin: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }) });
    await waitFor(async () => (await kubectl(['-n', name, 'get', 'serviceaccount', 'default'])).code === 0, `the default ServiceAccount in ${name}`, 60_000);
  };
  // the controllers run once the namespace `default` has its ServiceAccount
  await waitFor(async () => (await kubectl(['-n', 'default', 'get', 'serviceaccount', 'default'])).code === 0, 'kube-controller-manager to create ServiceAccounts', 120_000, () => procs.map((p) => p.died()).find(Boolean));
  return {
    server,
    kubeconfig,
    dir,
    caPem: pki.ca.certPem,
    startMs: Date.now() - started,
    kubectl,
    kubectlOk,
    apply: (manifest) => kubectlOk(['apply', '-f', '-'], { stdin: manifest }),
    namespace,
    getJson: async <T>(args: string[]) => JSON.parse(await kubectlOk(['get', ...args, '-o', 'json'])) as T,
  };
}

/** polls `cond` every 250 ms; `died` names a component that exited meanwhile */
export async function waitFor(cond: () => Promise<boolean>, what: string, timeoutMs: number, died: () => string | undefined = () => undefined): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    const dead = died();
    if (dead !== undefined) throw new Error(`${dead} while waiting for ${what}`);
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface Pki {
  ca: IssuedCert;
  server: IssuedCert;
  admin: IssuedCert;
  sa: { privateKeyPem: string; publicKeyPem: string };
}

function makePki(): Pki {
  const ca = makeCertificate({ days: 2, cn: 'erlmcp-test-kubernetes-ca', extensions: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'] });
  const issuer = { certPem: ca.certPem, keyPem: ca.keyPem };
  const server = makeCertificate({
    days: 2,
    cn: 'kube-apiserver',
    issuer,
    extensions: ['subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc', 'extendedKeyUsage=serverAuth', 'keyUsage=critical,digitalSignature'],
  });
  // system:masters: the group RBAC lets do everything, as a cluster admin's kubeconfig
  const admin = makeCertificate({ days: 2, subject: '/O=system:masters/CN=erlmcp-test-admin', issuer, extensions: ['extendedKeyUsage=clientAuth', 'keyUsage=critical,digitalSignature'] });
  return { ca, server, admin, sa: ecKeyPair() };
}

function kubeconfigText(server: string, caPem: string, admin: IssuedCert): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'erlmcp-test', cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [{ name: 'admin', user: { 'client-certificate-data': b64(admin.certPem), 'client-key-data': b64(admin.keyPem) } }],
    contexts: [{ name: 'erlmcp-test', context: { cluster: 'erlmcp-test', user: 'admin' } }],
    'current-context': 'erlmcp-test',
  });
}

function write(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface Component {
  /** "etcd exited 1: <log tail>" once it has exited, else undefined */
  died(): string | undefined;
  stop(): Promise<void>;
}

function startComponent(dir: string, binary: string, args: string[]): Component {
  const name = path.basename(binary);
  const logFile = path.join(dir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  // --pdeathsig: the component dies with this test process even when tap kills it
  // (a timeout) before teardown can run, so no stray etcd keeps a port or a CPU
  const proc: ChildProcess = spawn('setpriv', ['--pdeathsig', 'KILL', '--', binary, ...args], { cwd: dir, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) =>
    proc.once('exit', (code, signal) => {
      exit = `${name} exited ${code ?? signal}`;
      resolve();
    }),
  );
  const tail = (): string => {
    try {
      return readFileSync(logFile, 'utf8').slice(-3000);
    } catch {
      return '';
    }
  };
  return {
    died: () => (exit === undefined ? undefined : `${exit}; last lines of ${name}.log:\n${tail()}`),
    stop: async () => {
      if (exit !== undefined) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitReady(server: string, pki: Pki, procs: Component[], timeoutMs: number): Promise<void> {
  const ready = (): Promise<boolean> =>
    new Promise((resolve) => {
      const req = request(`${server}/readyz`, { ca: pki.ca.certPem, cert: pki.admin.certPem, key: pki.admin.keyPem, timeout: 5000 }, (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode === 200));
      });
      req.once('timeout', () => req.destroy());
      req.once('error', () => resolve(false));
      req.end();
    });
  await waitFor(ready, `kube-apiserver /readyz at ${server}`, timeoutMs, () => procs.map((p) => p.died()).find(Boolean));
}

function runKubectl(bin: string, dir: string, kubeconfig: string, args: string[], opts: KubectlOptions): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    // HOME in the scratch dir: kubectl's discovery cache stays out of the real one
    const child = spawn(path.join(bin, 'kubectl'), ['--kubeconfig', kubeconfig, ...args], {
      cwd: opts.cwd ?? dir,
      env: { PATH: process.env.PATH, HOME: dir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kubectl ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 60_000} ms`));
    }, opts.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}
