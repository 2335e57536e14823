// What the sidecar's numbers say about the file provider, through the real
// CLI: init's reads are in fetches_total from the first scrape, one file
// edit is one more read, and the audit `version` of identical content is the
// same in every process (so pods can be compared) and changes with it.

import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startAgent, waitUntil } from '../helpers/agent-process.ts';
import { runCli } from '../helpers/cli.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { contentVersion } from '../../agent/providers/file/content-hash.ts';

const PW1 = 'Canary-Count-First-Pw-7Hq2Lm';
const PW2 = 'Canary-Count-Second-Pw-9Rt4Xz';

function workspace(t: Parameters<typeof startAgent>[0]) {
  const dir = mkdtempSync(path.join(tmpdir(), 'erlmcp-counts-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'secrets/db'), { recursive: true });
  const setPw = (pw: string) => writeFileSync(path.join(dir, 'secrets/db/password'), `${pw}\n`);
  setPw(PW1);
  writeFileSync(path.join(dir, 'secrets/cookie'), 'Canary-Count-Cookie-4Kd8Pq\n');
  const cfg = path.join(dir, 'agent.yaml');
  writeFileSync(
    cfg,
    `providers: { local: { type: file, path: ./secrets } }
secrets: { db: { provider: local }, cookie: { provider: local } }
output: { root: ./out }
templates: [ { contents: "{{db.password}} {{cookie.value}}", destination: app.txt } ]
server: { listen: "127.0.0.1:0" }
refresh: { interval: 1h, wait: { min: 0s } }
`,
  );
  return { dir, cfg, setPw };
}

async function fetches(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^erlmcp_secrets_fetches_total\{provider="local",secret="(\w+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

t.test('init reads count from the first scrape; one file edit is one more read', async (t) => {
  const w = workspace(t);
  const a = startAgent(t, ['run', '-c', w.cfg]);
  t.teardown(() => a.proc.kill('SIGKILL'));
  const listening = await a.waitForLog((l) => l.msg === 'health server listening', 'listening');
  const url = listening.url as string;
  await a.waitForLog((l) => l.msg === 'sidecar running', 'running');
  t.same(await fetches(url), { cookie: 1, db: 1 }, 'the reads init made');
  w.setPw(PW2);
  await a.waitForLog((l) => l.msg === 'secret changed' && l.secret === 'db', 'change seen', 20_000);
  // later events of the same edit, if any, would land within the watcher's debounce
  await new Promise((r) => setTimeout(r, 1500));
  t.same(await fetches(url), { cookie: 1, db: 2 }, 'one edit, one read');
  a.proc.kill('SIGTERM');
  await a.exited;
  assertNoLeak(t, [a.stdout(), a.stderr()], [PW1, PW2]);
});

t.test('the audit version: the same in two processes for the same content, another for other content', async (t) => {
  const w = workspace(t);
  const version = async () => {
    const r = await runCli(['init', '-c', w.cfg]);
    t.equal(r.code, 0, r.stderr);
    return r.logs.find((l) => l.audit === true && l.secret === 'db')?.version;
  };
  const first = await version();
  const second = await version();
  t.match(first, /^[0-9a-f]{12}$/);
  t.equal(first, second, 'identical content, identical version, across processes');
  t.equal(first, contentVersion({ password: PW1 }), 'and in this process too');
  w.setPw(PW2);
  t.not(await version(), first, 'other content, other version');
  const { createHash } = await import('node:crypto');
  t.not(first, createHash('sha256').update(PW1).digest('hex').slice(0, 12), 'not the bare sha256 of the value (domain-separated)');
});
