// What every init floor does once its config is read: one token lookup and
// the secret reads through node-vault (given a ten-line node:http transport,
// as the agent gives it its own), one pino audit line per secret, the
// templates rendered by mustache and written with fsync and rename. Nothing
// else: no validation rules, no escaping, no retries, no reports.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import nodeVault from 'node-vault';
import pino from 'pino';
import Mustache from 'mustache';

export interface FloorInitConfig {
  vault: { address: string; tokenFile: string };
  secrets: Record<string, { path: string }>;
  templates: Array<{ contents: string; destination: string }>;
  out: string;
}

export async function initSteps(cfg: FloorInitConfig): Promise<void> {
  const log = pino({ level: 'info' }, process.stdout);
  const agent = new http.Agent({ keepAlive: true });
  const send = (o: { method: string; uri: string; headers?: Record<string, string> }) =>
    new Promise((resolve, reject) => {
      const r = http.request(o.uri, { method: o.method, headers: o.headers, agent }, (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (b += d));
        res.on('end', () => resolve({ statusCode: res.statusCode, body: b ? JSON.parse(b) : undefined, request: { path: o.uri } }));
      });
      r.on('error', reject).end();
    });
  const token = fs.readFileSync(cfg.vault.tokenFile, 'utf8').trim();
  const vault = nodeVault({ endpoint: cfg.vault.address, token, 'request-promise': { defaults: () => send } } as Parameters<typeof nodeVault>[0]);

  await vault.tokenLookupSelf();
  const view: Record<string, Record<string, string>> = {};
  await Promise.all(
    Object.entries(cfg.secrets).map(async ([name, s]) => {
      const r = (await vault.read(s.path)) as { data: { data: Record<string, string>; metadata: { version: number } } };
      view[name] = r.data.data;
      log.info({ audit: true, secret: name, version: r.data.metadata.version, outcome: 'ok' }, 'secret fetched');
    }),
  );
  fs.mkdirSync(cfg.out, { recursive: true });
  for (const t of cfg.templates) {
    const f = path.join(cfg.out, t.destination);
    const fd = fs.openSync(`${f}.tmp`, 'w', 0o400);
    fs.writeSync(fd, Mustache.render(t.contents, view));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(`${f}.tmp`, f);
  }
  agent.destroy();
}
