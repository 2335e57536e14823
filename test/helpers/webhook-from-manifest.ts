// Starts the real webhook (in this process, over HTTPS on 127.0.0.1) with
// the arguments a manifest's webhook container gives it, its volume mounts
// laid out in a temporary directory: what the Deployment would run, minus
// the image. Then posts AdmissionReviews the way the API server does:
// pinning the CA from the webhook configuration and naming the Service's
// DNS name (SNI and certificate check), so a certificate that does not
// cover that name fails here as it would in the cluster.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runWebhook } from '../../agent/webhook/cli.ts';
import type { WebhookServer } from '../../agent/webhook/server.ts';
import { createLogger } from '../../agent/log/logger.ts';
import type { Pod } from '../../agent/webhook/pod-types.ts';
import type { AdmissionResponse } from '../../agent/webhook/admission.ts';
import { reviewOf } from './webhook-admit.ts';

export interface ManifestContainer {
  args?: string[];
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface RunningWebhook {
  port: number;
  /** the argv the webhook got (after `webhook`), paths moved into the temp dir */
  argv: string[];
  /** POST /mutate with the pod; verifies the server as `serverName` against `ca` */
  mutate(pod: Pod, opts: { ca: string; serverName: string }): Promise<AdmissionResponse>;
  stop(): Promise<void>;
}

/** `files`: volume name -> file name -> content (the Secret's or ConfigMap's data) */
export async function startWebhookFromContainer(container: ManifestContainer, files: Record<string, Record<string, string>>): Promise<RunningWebhook> {
  const root = mkdtempSync(path.join(tmpdir(), 'erlmcp-webhook-manifest-'));
  const moved = new Map<string, string>();
  for (const m of container.volumeMounts ?? []) {
    const dir = path.join(root, m.name);
    mkdirSync(dir, { recursive: true });
    for (const [name, content] of Object.entries(files[m.name] ?? {})) writeFileSync(path.join(dir, name), content, { mode: 0o600 });
    moved.set(m.mountPath, dir);
  }
  const args = [...(container.args ?? [])];
  if (args[0] !== 'webhook') throw new Error(`the container's first argument is "${args[0]}", not the webhook subcommand`);
  const argv = args.slice(1).map((a) => {
    for (const [from, to] of moved) a = a.replace(`=${from}/`, `=${to}/`);
    return a;
  });
  // flags win over the config file, and the last of a repeated flag wins: loopback, any port
  argv.push('--listen=127.0.0.1:0');
  const stop = new AbortController();
  const logLines: string[] = [];
  let server: WebhookServer | undefined;
  let failure: unknown;
  const stderr: string[] = [];
  const exited = runWebhook(argv, {
    signal: stop.signal,
    logger: createLogger({ level: 'warn', destination: { write: (l: string) => logLines.push(l) } }),
    stderr: { write: (s: string) => stderr.push(s) },
    onListening: (s) => (server = s),
    // stop() is a teardown, not a rollout: no shutdown delay to wait out
    shutdownDelayMs: 0,
  }).then(
    (code) => {
      if (server === undefined) failure = new Error(`webhook exited ${code} before listening: ${[...stderr, ...logLines].join('').slice(0, 2000)}`);
    },
    (e: unknown) => (failure = e),
  );
  const deadline = Date.now() + 20_000;
  while (server === undefined && failure === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (server === undefined) {
    stop.abort();
    rmSync(root, { recursive: true, force: true });
    throw failure ?? new Error('the webhook did not listen within 20 s');
  }
  const port = server.address().port;
  return {
    port,
    argv,
    mutate: (pod, opts) => post(port, pod, opts),
    async stop() {
      stop.abort();
      await exited;
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function post(port: number, pod: Pod, opts: { ca: string; serverName: string }): Promise<AdmissionResponse> {
  const body = JSON.stringify(reviewOf(pod));
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, servername: opts.serverName, method: 'POST', path: '/mutate', ca: opts.ca, agent: false, timeout: 10_000, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8').slice(0, 500)}`);
            resolve((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { response: AdmissionResponse }).response);
          } catch (e) {
            reject(e as Error);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(body);
  });
}
