// The benchmark floors (bench/floors/) are the yardstick the init and sidecar
// figures are read against, so they must keep doing the work they claim:
// bundled as the bench bundles them, the init floors read every secret from
// the Vault fake and write every template with the values in place, and the
// sidecar floors serve HTTP and keep running. Figures are bench/'s job; this
// only checks that the floors are real.

import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleFloor } from '../../bench/floors/bundle.ts';
import { startVaultFake } from '../fakes/vault/index.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const CANARY = 'CANARY-floor-7d1e93a0c4';

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH } });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

const dir = mkdtempSync(path.join(tmpdir(), 'floors-test-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('the init floors fetch every secret through node-vault and write every template', async (t) => {
  const vault = await startVaultFake();
  t.teardown(() => vault.close());
  writeFileSync(path.join(dir, 'token'), vault.rootToken);
  const secrets: Record<string, { path: string }> = {};
  for (let i = 0; i < 3; i++) {
    vault.putKv(`secret/floor-s${i}`, { username: `user${i}`, password: `${CANARY}-${i}` });
    secrets[`s${i}`] = { path: `secret/data/floor-s${i}` };
  }
  const contents = '{{s0.username}}:{{s0.password}} {{s1.username}}:{{s1.password}} {{s2.username}}:{{s2.password}}\n';
  for (const name of ['init-mandated', 'init-chosen'] as const) {
    const out = path.join(dir, `${name}-out`);
    const cfg = path.join(dir, `${name}.json`);
    writeFileSync(cfg, JSON.stringify({ vault: { address: vault.url, tokenFile: path.join(dir, 'token') }, secrets, templates: [{ contents, destination: 'a.env' }, { contents, destination: 'b.env' }], out }));
    const before = vault.requests.length;
    const r = await run([await bundleFloor(name, dir), cfg]);
    t.equal(r.code, 0, `${name} exits 0: ${r.err.slice(0, 500)}`);
    const expected = `user0:${CANARY}-0 user1:${CANARY}-1 user2:${CANARY}-2\n`;
    for (const f of ['a.env', 'b.env']) {
      t.equal(readFileSync(path.join(out, f), 'utf8'), expected, `${name}: ${f} holds the values`);
      t.equal(statSync(path.join(out, f)).mode & 0o777, 0o400, `${name}: ${f} is 0400, as the agent writes it`);
    }
    const calls = vault.requests.slice(before).map((q) => `${q.method} ${q.path}`);
    t.same(calls.sort(), ['GET /v1/auth/token/lookup-self', 'GET /v1/secret/data/floor-s0', 'GET /v1/secret/data/floor-s1', 'GET /v1/secret/data/floor-s2'], `${name}: the calls the agent's init makes, no more`);
    t.equal(r.out.trim().split('\n').filter((l) => JSON.parse(l).audit === true).length, 3, `${name}: one pino audit line per secret`);
    // the floors are benchmarks, not the agent: they promise nothing about
    // values in their output, but they print none
    assertNoLeak(t, [r.out, r.err], [CANARY]);
  }
});

t.test('the sidecar floors serve HTTP and keep running', async (t) => {
  const secretsDir = path.join(dir, 'secrets');
  mkdirSync(secretsDir);
  writeFileSync(path.join(secretsDir, 's0'), 'value');
  for (const name of ['sidecar-mandated', 'sidecar-chosen'] as const) {
    const child = spawn(process.execPath, ['-e', `
      const http = require('node:http'); const listen = http.Server.prototype.listen;
      http.Server.prototype.listen = function (...a) { this.once('listening', () => process.stdout.write(String(this.address().port) + '\\n')); return listen.apply(this, a); };
      require(process.argv[1]);`, await bundleFloor(name, dir), secretsDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => child.kill('SIGKILL'));
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (b: Buffer) => resolve(Number(b.toString().trim())));
      child.once('exit', (code) => reject(new Error(`${name} exited ${code}`)));
    });
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    t.match(body, name === 'sidecar-chosen' ? /^# HELP reads_total reads/m : /^ok$/m, `${name} answers on /metrics`);
    await new Promise((r) => setTimeout(r, 350));
    t.equal(child.exitCode, null, `${name} is still running after a few reads`);
    if (name === 'sidecar-chosen') t.match(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), /^reads_total [1-9]\d*$/m, 'its reads are counted');
  }
});
