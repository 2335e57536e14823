// Keeps the webhook's TLS certificate current. cert-manager rotates it in the
// mounted Secret, which the kubelet updates by swapping the `..data` symlink
// (so the files themselves never change in place). We watch the directories,
// re-read both files after any event (and on a slow poll, for filesystems
// where events go missing), and hand over a pair only when it is valid.

import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { isReadRefusal, readBounded, refusalDetail } from '../files/bounded-read.ts';
import { READ_LIMITS } from '../files/read-limits.ts';

export interface CertPair {
  cert: string;
  key: string;
  /** SHA-256 fingerprint, for logs */
  fingerprint: string;
  notAfter: string;
}

export type LoadResult = { ok: true; pair: CertPair } | { ok: false; reason: string };

/** read and check a certificate/key pair; never throws */
export async function loadCertPair(certFile: string, keyFile: string): Promise<LoadResult> {
  let cert: string;
  let key: string;
  try {
    const [c, k] = await Promise.all([readBounded(certFile, READ_LIMITS.tls), readBounded(keyFile, READ_LIMITS.tls)]);
    [cert, key] = [c.toString('utf8'), k.toString('utf8')];
  } catch (e) {
    if (!isReadRefusal(e)) throw e;
    return { ok: false, reason: `cannot read ${e.file}${refusalDetail(e)}` };
  }
  return checkPair(cert, key);
}

export function checkPair(cert: string, key: string): LoadResult {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    return { ok: false, reason: 'the certificate file holds no valid PEM certificate' };
  }
  try {
    // builds the same context the server would use: fails on a bad key or a key that does not match
    createSecureContext({ cert, key } satisfies SecureContextOptions);
  } catch (e) {
    const msg = (e as Error).message;
    const why = /mismatch/i.test(msg) ? 'the key does not belong to the certificate' : 'the key file holds no usable private key';
    return { ok: false, reason: why };
  }
  return { ok: true, pair: { cert, key, fingerprint: x509.fingerprint256, notAfter: x509.validTo } };
}

export interface CertWatcherOptions {
  certFile: string;
  keyFile: string;
  /** the pair in use now; a reload with the same bytes is not reported */
  current: CertPair;
  onChange(pair: CertPair): void;
  onInvalid(reason: string): void;
  /** events come in bursts during a swap: wait this long for quiet */
  debounceMs?: number;
  /** re-read even without events, this often */
  pollMs?: number;
}

export interface CertWatcher {
  /** re-read now (tests, SIGHUP); resolves when done */
  check(): Promise<void>;
  close(): void;
}

export function watchCertificate(opts: CertWatcherOptions): CertWatcher {
  const debounceMs = opts.debounceMs ?? 200;
  const pollMs = opts.pollMs ?? 60_000;
  let current = opts.current;
  let lastInvalid: string | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const watchers: FSWatcher[] = [];

  const check = (): Promise<void> => {
    // serialize: two overlapping reads could apply an older pair last
    running = running.then(async () => {
      if (closed) return;
      const r = await loadCertPair(opts.certFile, opts.keyFile);
      if (closed) return;
      if (!r.ok) {
        // during a swap one file may be new and the other old: report each reason once
        if (r.reason !== lastInvalid) opts.onInvalid(r.reason);
        lastInvalid = r.reason;
        return;
      }
      lastInvalid = undefined;
      if (r.pair.cert === current.cert && r.pair.key === current.key) return;
      current = r.pair;
      opts.onChange(r.pair);
    });
    return running;
  };

  const schedule = (): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void check(), debounceMs);
  };

  const dirs = new Set([path.dirname(path.resolve(opts.certFile)), path.dirname(path.resolve(opts.keyFile))]);
  for (const dir of dirs) {
    try {
      const w = watch(dir, { persistent: false }, schedule);
      w.on('error', () => undefined); // the poll below still covers this directory
      watchers.push(w);
    } catch {
      // no inotify here: polling alone
    }
  }
  const poll = setInterval(() => void check(), pollMs);
  poll.unref();

  return {
    check,
    close() {
      closed = true;
      clearTimeout(timer);
      clearInterval(poll);
      for (const w of watchers) w.close();
    },
  };
}
