// What every sidecar floor does: an HTTP server on loopback, chokidar
// watching the secrets directory, a pino logger, and every 100 ms a read
// rendered by mustache. Nothing else.

import http from 'node:http';
import { readFileSync } from 'node:fs';
import chokidar from 'chokidar';
import pino from 'pino';
import Mustache from 'mustache';

export function sidecarLoop(dir: string, intervalMs: number, metrics: () => Promise<string>, onRead: () => void): void {
  const log = pino({ level: 'warn' }, process.stderr);
  http.createServer((_q, r) => void metrics().then((m) => r.end(m))).listen(0, '127.0.0.1');
  chokidar.watch(dir, { ignoreInitial: true }).on('all', () => log.info('changed'));
  setInterval(() => {
    Mustache.render('{{s0.value}}', { s0: { value: readFileSync(`${dir}/s0`, 'utf8') } });
    onRead();
  }, intervalMs);
}
