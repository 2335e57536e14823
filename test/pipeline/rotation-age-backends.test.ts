// The rotation-age policy against each backend, with versions of known ages:
// AWS (moto behind the test proxy, which sets GetSecretValue's CreatedDate:
// moto stamps its own clock),
// Azure (the Key Vault fake: attributes.updated), GCP (the Secret Manager fake:
// the version's createTime, read with GetSecretVersion), files (mtime set with
// utimes). Through the bundle: `init` warns and exits 0, or exits 3 with
// failInit; `run` reports the ages in /metrics and the overdue secrets in
// /readyz's body, and stays ready. No value ever appears in the output.
// (Vault's KV v2 created_time is covered against real OpenBao in
// test/vault-real/rotation-age.test.ts.)

import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startAgent } from '../helpers/agent-process.ts';
import { BUNDLE, runCli } from '../helpers/cli.ts';
import { emulatorFor, startMoto } from '../helpers/emulators.ts';
import { startFourBackends } from '../helpers/four-backends.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

t.setTimeout(240_000);

const DAY = 86_400_000;
const OLD_DAYS = 100;
const FRESH_DAYS = 1;
const BACKENDS = ['aws', 'azure', 'gcp', 'file'] as const;
type Backend = (typeof BACKENDS)[number];
const canary = (b: Backend, age: 'old' | 'fresh'): string => `CANARY-age-${b}-${age}-5c7e9a1b3d`;
const CANARIES = BACKENDS.flatMap((b) => [canary(b, 'old'), canary(b, 'fresh')]);

const moto = await emulatorFor(t, startMoto);
if (moto) {
  const backends = await startFourBackends(moto);
  t.teardown(() => backends.close());
  const work = mkdtempSync(path.join(tmpdir(), 'rotation-age-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const now = Date.now();
  const createdAt = (age: 'old' | 'fresh'): Date => new Date(now - (age === 'old' ? OLD_DAYS : FRESH_DAYS) * DAY);
  const fields: Record<string, Record<string, unknown>> = {};

  const aws = new SecretsManagerClient({ region: 'us-east-1', endpoint: moto.url, credentials: { accessKeyId: 'AKIAADMIN', secretAccessKey: 'admin' } });
  t.teardown(() => aws.destroy());
  for (const age of ['old', 'fresh'] as const) {
    backends.aws.setCreatedDate(`age-${age}`, createdAt(age));
    await aws.send(new CreateSecretCommand({ Name: `age-${age}`, SecretString: JSON.stringify({ password: canary('aws', age) }) }));
    fields[`aws_${age}`] = { id: `age-${age}` };
    backends.azure.setSecret(`age-${age}`, JSON.stringify({ password: canary('azure', age) }), { contentType: 'application/json', createdOn: createdAt(age) });
    fields[`azure_${age}`] = { name: `age-${age}` };
    backends.gcp.createSecret(`age-${age}`);
    backends.gcp.addVersion(`age-${age}`, JSON.stringify({ password: canary('gcp', age) }), createdAt(age));
    fields[`gcp_${age}`] = { name: `age-${age}`, json: true };
  }
  const filesDir = path.join(work, 'files');
  mkdirSync(filesDir);
  for (const age of ['old', 'fresh'] as const) {
    const f = path.join(filesDir, `file_${age}.json`);
    writeFileSync(f, JSON.stringify({ password: canary('file', age) }));
    utimesSync(f, createdAt(age), createdAt(age));
    fields[`file_${age}`] = {};
  }

  const config = (opts: { failInit?: boolean; server?: boolean }): string => {
    const secrets = Object.entries(fields).map(([name, f]) => `  ${name}: ${JSON.stringify({ provider: name.split('_')[0], ...f, maxAge: '90d', ...(opts.failInit ? { failInit: true } : {}) })}`);
    const contents = Object.keys(fields).map((n) => `{{${n}.password}}`).join(',');
    const dir = mkdtempSync(path.join(work, 'cfg-'));
    const file = path.join(dir, 'agent.yaml');
    writeFileSync(
      file,
      `providers:\n${backends.providersYaml(['aws', 'azure', 'gcp'])}\n  file: { type: file, path: ${JSON.stringify(filesDir)} }\n` +
        `secrets:\n${secrets.join('\n')}\noutput: { root: ./out }\ntemplates: [ { contents: ${JSON.stringify(contents)}, destination: all.txt } ]\n` +
        `init: { timeout: 20s, backoff: { initial: 100ms, max: 400ms } }\nserver: { enabled: ${opts.server === true}, listen: "127.0.0.1:0" }\n`,
    );
    return file;
  };
  const env = { ...backends.env, ERLMCP_SECRETS_LOG_FORMAT: 'json' };

  t.test('init: one warning per overdue secret naming it and its age; exit 0', async (t) => {
    const cfg = config({});
    const run = await runCli(['init', '-c', cfg], { program: BUNDLE, cwd: path.dirname(cfg), env });
    t.equal(run.code, 0, run.stderr);
    t.equal(readFileSync(path.join(path.dirname(cfg), 'out/all.txt'), 'utf8').split(',').length, 8);
    for (const b of BACKENDS) {
      const warned = run.logs.filter((l) => l.outcome === 'rotation-overdue' && l.secret === `${b}_old`);
      t.equal(warned.length, 1, `${b}: the old version is reported`);
      t.match(warned[0]?.msg, new RegExp(`^secret ${b}_old is ${OLD_DAYS}d( \\d+h)? old \\(created .*\\), past its maxAge of 90d`));
      t.ok(Math.abs(Number(warned[0]?.ageSeconds) - OLD_DAYS * 86_400) < 3600, `${b}: the age the backend says`);
      t.equal(run.logs.filter((l) => l.secret === `${b}_fresh` && l.level === 'warn').length, 0, `${b}: the fresh one is not`);
    }
    assertNoLeak(t, [run.stdout, run.stderr], CANARIES);
  });

  t.test('init with failInit: exit 3, every overdue secret named', async (t) => {
    const run = await runCli(['init', '-c', config({ failInit: true })], { program: BUNDLE, env });
    t.equal(run.code, 3, run.stderr);
    t.equal(run.problems.length, 4, run.problems.join('\n'));
    for (const b of BACKENDS) t.ok(run.problems.some((p) => p.startsWith(`${b}_old: secret ${b}_old is ${OLD_DAYS}d`) && p.endsWith('(failInit: true)')), `${b}_old named`);
    assertNoLeak(t, [run.stdout, run.stderr], CANARIES);
  });

  t.test('run: ages in /metrics, the overdue in /readyz, still ready', async (t) => {
    const cfg = config({ server: true });
    const agent = startAgent(t, ['run', '-c', cfg], { program: BUNDLE, cwd: path.dirname(cfg), env });
    const listening = await agent.waitForLog((l) => l.msg === 'health server listening', 'the health server', 60_000);
    const url = String(listening.url);
    const ready = await fetch(`${url}/readyz`);
    const body = (await ready.json()) as { status: string; overdue?: Array<{ secret: string; ageSeconds: number; maxAgeSeconds: number; createdAt: string }> };
    t.equal(ready.status, 200, 'overdue is no reason to be unready');
    t.same(body.overdue?.map((o) => o.secret), ['aws_old', 'azure_old', 'file_old', 'gcp_old']);
    for (const o of body.overdue ?? []) {
      t.equal(o.maxAgeSeconds, 90 * 86_400);
      t.ok(Math.abs(o.ageSeconds - OLD_DAYS * 86_400) < 3600, `${o.secret}: its age`);
      t.ok(Math.abs(Date.parse(o.createdAt) - (now - OLD_DAYS * DAY)) < 3600_000, `${o.secret}: created then`);
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    for (const b of BACKENDS) {
      for (const age of ['old', 'fresh'] as const) {
        const seconds = Number(new RegExp(`^erlmcp_secrets_secret_age_seconds\\{secret="${b}_${age}"\\} (\\S+)$`, 'm').exec(metrics)?.[1]);
        const days = age === 'old' ? OLD_DAYS : FRESH_DAYS;
        t.ok(Math.abs(seconds - days * 86_400) < 3600, `${b}_${age}: age metric ${seconds}`);
        t.match(metrics, `erlmcp_secrets_rotation_overdue{secret="${b}_${age}"} ${age === 'old' ? 1 : 0}`);
      }
    }
    agent.proc.kill('SIGTERM');
    t.equal((await agent.exited).code, 0);
    assertNoLeak(t, [agent.stdout(), agent.stderr(), JSON.stringify(body), metrics], CANARIES);
  });
}
