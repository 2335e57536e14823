// The rotation-age policy against real OpenBao: a KV v2 version's age is its
// created_time as OpenBao reports it. A version older than a small maxAge
// (2s, after waiting) is reported by `init` (a warning naming the secret and
// its age, exit 0), fails it with failInit (exit 3), and shows in `run`'s
// /metrics and /readyz body; a new version is within its maxAge again. No
// value ever appears in the output.

import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, waitUntil } from '../helpers/agent-process.ts';
import { BUNDLE } from '../helpers/cli.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { createToken, startDevBao, writePolicy } from '../helpers/openbao.ts';
import { agentDir, runInit, writeAgentConfig } from '../helpers/openbao-agent.ts';

const CANARY = { v1: 'CANARY-age-v1-2b4d6f8a0c', v2: 'CANARY-age-v2-9e7c5a3b1d' };

t.setTimeout(180_000);

const bao = await startDevBao(t);
await bao.ok('PUT', 'secret/data/app', { data: { password: CANARY.v1 } });
const createdV1 = Date.parse((await bao.ok('GET', 'secret/metadata/app')).data.versions['1'].created_time as string);
await writePolicy(bao, 'reader', { 'secret/data/*': ['read'], 'secret/metadata/*': ['read'] });
const token = await createToken(bao, { policies: ['reader'] });
// past the 2s maxAge by OpenBao's clock, which is this machine's
await new Promise((r) => setTimeout(r, 3000));

t.test('init: an overdue version is a warning with its age (exit 0), or exit 3 with failInit', async (t) => {
  const dir = agentDir(t, token);
  const warnOnly = await runInit(dir, writeAgentConfig(dir, { address: bao.url, secrets: { db: { path: 'secret/data/app', maxAge: '2s' } }, template: '{{db.password}}' }));
  t.equal(warnOnly.code, 0, warnOnly.stderr);
  t.equal(readFileSync(join(dir, 'out/out.txt'), 'utf8'), CANARY.v1);
  const warning = warnOnly.logs.find((l) => l.outcome === 'rotation-overdue');
  t.equal(warning?.level, 'warn');
  t.equal(warning?.secret, 'db');
  t.equal(warning?.createdAt, new Date(createdV1).toISOString(), "OpenBao's created_time of version 1");
  t.ok(Number(warning?.ageSeconds) >= 3, `age ${String(warning?.ageSeconds)}s`);
  t.match(warning?.msg, /^secret db is \d+s old \(created .*\), past its maxAge of 2s: rotate it in its backend$/);

  const failing = await runInit(dir, writeAgentConfig(dir, { address: bao.url, secrets: { db: { path: 'secret/data/app', maxAge: '2s', failInit: true } }, template: '{{db.password}}' }));
  t.equal(failing.code, 3, failing.stderr);
  t.match(failing.problems.join('\n'), /^db: secret db is \d+s old .* past its maxAge of 2s: rotate it in its backend \(failInit: true\)$/);

  const generous = await runInit(dir, writeAgentConfig(dir, { address: bao.url, secrets: { db: { path: 'secret/data/app', maxAge: '1h', failInit: true } }, template: '{{db.password}}' }));
  t.equal(generous.code, 0, generous.stderr);
  t.equal(generous.logs.filter((l) => l.outcome === 'rotation-overdue').length, 0, 'within 1h: nothing to say');
  assertNoLeak(t, [warnOnly.stdout, warnOnly.stderr, failing.stdout, failing.stderr, generous.stderr], [...Object.values(CANARY), token]);
});

t.test('run: the age in /metrics, overdue in /readyz; a new version is within maxAge again', async (t) => {
  const dir = agentDir(t, token);
  const cfg = writeAgentConfig(dir, { address: bao.url, secrets: { db: { path: 'secret/data/app', maxAge: '2s' } }, template: '{{db.password}}', extra: 'refresh: { interval: 1s, jitter: 0 }\n' });
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('server: { enabled: false }', 'server: { enabled: true, listen: "127.0.0.1:0" }'));
  const agent = startAgent(t, ['run', '-c', cfg], { program: BUNDLE, cwd: dir });
  const url = String((await agent.waitForLog((l) => l.msg === 'health server listening', 'the health server', 30_000)).url);
  const ready = await fetch(`${url}/readyz`);
  const body = (await ready.json()) as { overdue?: Array<{ secret: string; ageSeconds: number; maxAgeSeconds: number; createdAt: string }> };
  t.equal(ready.status, 200, 'overdue is no reason to be unready');
  t.equal(body.overdue?.length, 1);
  t.equal(body.overdue?.[0]?.secret, 'db');
  t.equal(body.overdue?.[0]?.maxAgeSeconds, 2);
  t.equal(body.overdue?.[0]?.createdAt, new Date(createdV1).toISOString());
  t.ok((body.overdue?.[0]?.ageSeconds ?? 0) >= 3);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  t.match(metrics, /^erlmcp_secrets_secret_age_seconds\{secret="db"\} \d+/m);
  t.match(metrics, 'erlmcp_secrets_rotation_overdue{secret="db"} 1');

  // rotate: a new version, picked up by the 1s refresh, is 0s old
  await bao.ok('PUT', 'secret/data/app', { data: { password: CANARY.v2 } });
  await agent.waitForLog((l) => l.msg === 'secret changed' && l.secret === 'db', 'the new version', 20_000);
  await waitUntil(() => readFileSync(join(dir, 'out/out.txt'), 'utf8') === CANARY.v2, 'the new version rendered');
  const after = (await (await fetch(`${url}/readyz`)).json()) as { overdue?: unknown };
  const metricsAfter = await (await fetch(`${url}/metrics`)).text();
  // the new version may itself pass 2s on a loaded machine before we look: then it is the new createdAt that is reported
  const created = Number(/^erlmcp_secrets_secret_age_seconds\{secret="db"\} (\d+)/m.exec(metricsAfter)?.[1]);
  if (created < 2) {
    t.equal(after.overdue, undefined, 'no overdue field once rotated');
    t.match(metricsAfter, 'erlmcp_secrets_rotation_overdue{secret="db"} 0');
  } else t.pass(`the new version was already ${created}s old when looked at`);
  agent.proc.kill('SIGTERM');
  t.equal((await agent.exited).code, 0);
  assertNoLeak(t, [agent.stdout(), agent.stderr(), JSON.stringify(body), JSON.stringify(after), metrics, metricsAfter], [...Object.values(CANARY), token]);
});
