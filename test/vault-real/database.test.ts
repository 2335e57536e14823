// The database secrets engine of a real OpenBao dev server over a real
// PostgreSQL 15 on 127.0.0.1: the credentials log in (psql), leases renew,
// new credentials come before the max TTL, a plugin failure during renewal
// (PostgreSQL down) keeps the live lease, and shutdown.revokeLeases gives
// the lease back (the credentials stop working). Short TTLs; one server
// and one cluster for the file.

import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, type AgentProcess } from '../helpers/agent-process.ts';
import { BUNDLE } from '../helpers/cli.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { createToken, startDevBao, writePolicy, type Bao } from '../helpers/openbao.ts';
import { agentDir, realProviderHarness, runInit, writeAgentConfig } from '../helpers/openbao-agent.ts';
import { runCli } from '../helpers/cli.ts';
import { startPostgres, type Postgres } from '../helpers/postgres.ts';

const signal = (): AbortSignal => new AbortController().signal;

// real servers, TTLs that run out on purpose: more than tap's default 120 s on a loaded machine
t.setTimeout(360_000);

let bao: Bao;
let pg: Postgres;
let token: string;
t.before(async () => {
  [bao, pg] = await Promise.all([startDevBao(t), startPostgres(t)]);
  await bao.ok('POST', 'sys/mounts/database', { type: 'database' });
  await bao.ok('POST', 'database/config/pg', {
    plugin_name: 'postgresql-database-plugin',
    allowed_roles: '*',
    connection_url: `postgresql://{{username}}:{{password}}@127.0.0.1:${pg.port}/postgres?sslmode=disable`,
    username: pg.user,
    password: pg.password,
  });
  for (const [role, ttl, maxTtl] of [
    ['long', '1h', '2h'],
    ['short', '4s', '11s'],
    // renewed every few seconds, never capped within a test
    ['renewing', '4s', '1h'],
  ] as const) {
    await bao.ok('POST', `database/roles/${role}`, {
      db_name: 'pg',
      creation_statements: [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`],
      default_ttl: ttl,
      max_ttl: maxTtl,
    });
  }
  await writePolicy(bao, 'agent', { 'database/creds/*': ['read'], 'secret/data/*': ['read'], 'sys/leases/renew': ['update'], 'sys/leases/revoke': ['update'] });
  token = await createToken(bao, { policies: ['agent'] });
});

/** the rendered username:password */
function creds(dir: string): { user: string; password: string } {
  const [user, password] = readFileSync(join(dir, 'out/out.txt'), 'utf8').split(':') as [string, string];
  return { user, password };
}

function runAgent(t: Test, role: string, extra = ''): { agent: AgentProcess; dir: string } {
  const dir = agentDir(t, token);
  const cfg = writeAgentConfig(dir, {
    address: bao.url,
    secrets: { db: { path: `database/creds/${role}` } },
    template: '{{db.username}}:{{db.password}}',
    extra: `refresh: { backoff: { initial: 300ms, max: 1s } }\n${extra}`,
  });
  return { agent: startAgent(t, ['run', '-c', cfg], { program: BUNDLE, cwd: dir }), dir };
}

t.test('dynamic credentials log in; renewal keeps them; the provider revokes them', async (t) => {
  const h = realProviderHarness(t, bao.url);
  const p = await h.tokenProvider(token);
  const ref = { name: 'db', spec: { path: 'database/creds/long' } };
  const v = await p.fetch(ref, signal());
  t.ok(v.lease?.renewable, 'a renewable lease');
  t.equal(v.lease?.ttlSeconds, 3600);
  t.same(await pg.canLogIn(v.data.username!, v.data.password!), { ok: true, stderr: '' }, 'the credentials log in to PostgreSQL');
  const renewed = await p.renew(ref, v, signal());
  t.equal(renewed.lease?.id, v.lease!.id, 'the same lease');
  t.ok(renewed.lease!.ttlSeconds > 3500, 'renewed for its TTL');
  await p.revoke(renewed);
  t.equal((await pg.canLogIn(v.data.username!, v.data.password!)).ok, false, 'revoked: the role is gone from PostgreSQL');
  assertNoLeak(t, h.texts(), [v.data.password!]);
});

t.test('defect 6: a plugin failure during renewal (PostgreSQL down) is transient; the live lease is kept and renews later', async (t) => {
  const h = realProviderHarness(t, bao.url);
  const p = await h.tokenProvider(token);
  const ref = { name: 'db', spec: { path: 'database/creds/long' } };
  const v = await p.fetch(ref, signal());
  await pg.stop();
  try {
    const e = await h.rejected(p.renew(ref, v, signal()));
    t.same([e.code, e.retryable], ['unavailable', true], 'unavailable and retried, not "missing"');
    t.match(e.message, `could not renew lease ${v.lease!.id} (Vault: failed to renew entry`);
    t.match(e.message, 'stay valid until their TTL runs out');
  } finally {
    await pg.start();
  }
  const renewed = await p.renew(ref, v, signal());
  t.ok(renewed.lease!.ttlSeconds > 3500, 'with PostgreSQL back, the same lease renews');
  t.ok((await pg.canLogIn(v.data.username!, v.data.password!)).ok, 'and its credentials still log in');

  const gone = await h.rejected(p.renew(ref, { ...v, lease: { ...v.lease!, id: `${v.lease!.id}-nope` } }, signal()));
  t.same([gone.code, gone.message.includes('(Vault: lease not found)')], ['missing', true], 'a lease Vault does not have is still gone');
  await p.revoke(renewed);
  assertNoLeak(t, h.texts(), [v.data.password!]);
});

t.test('defect 6, in the sidecar: renewal failing while PostgreSQL is down keeps the same credentials', async (t) => {
  const { agent, dir } = runAgent(t, 'renewing');
  await agent.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running', 30_000);
  const first = creds(dir);
  await pg.stop();
  let mark = agent.logs.length;
  try {
    await agent.waitForLog((l) => l.msg.startsWith('secret refresh failed') && String(l.err).includes('could not renew lease'), 'a renewal failing on the plugin', 15_000, mark);
  } finally {
    await pg.start();
  }
  mark = agent.logs.length;
  await agent.waitForLog((l) => l.msg.startsWith('lease renewed'), 'the same lease renewed once PostgreSQL is back', 15_000, mark);
  t.same(creds(dir), first, 'no new credentials were minted');
  t.ok((await pg.canLogIn(first.user, first.password)).ok, 'and they still log in');
  agent.proc.kill('SIGTERM');
  await agent.exited;
  assertNoLeak(t, [agent.stdout(), agent.stderr()], [first.password]);
});

t.test('the max TTL: the renewal comes back capped, then new credentials that log in are rendered', async (t) => {
  const { agent, dir } = runAgent(t, 'short');
  await agent.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running', 30_000);
  const first = creds(dir);
  t.ok((await pg.canLogIn(first.user, first.password)).ok, 'the first credentials log in');
  await agent.waitForLog((l) => l.msg === 'lease renewed, capped at max TTL: a new lease follows', 'a renewal capped at the max TTL', 20_000);
  const mark = agent.logs.length;
  t.ok((await pg.canLogIn(first.user, first.password)).ok, 'capped, not yet expired: the first credentials still log in');
  await agent.waitForLog((l) => l.msg === 'template written', 'new credentials rendered', 20_000, mark);
  const second = creds(dir);
  t.not(second.user, first.user, 'a new database role');
  t.ok((await pg.canLogIn(second.user, second.password)).ok, 'the new credentials log in');
  agent.proc.kill('SIGTERM');
  await agent.exited;
  assertNoLeak(t, [agent.stdout(), agent.stderr()], [first.password, second.password]);
});

t.test('shutdown.revokeLeases: on SIGTERM the lease is revoked and the credentials stop working', async (t) => {
  const { agent, dir } = runAgent(t, 'long', 'shutdown: { revokeLeases: true }');
  await agent.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running', 30_000);
  const c = creds(dir);
  t.ok((await pg.canLogIn(c.user, c.password)).ok, 'while running, they log in');
  agent.proc.kill('SIGTERM');
  t.equal((await agent.exited).code, 0);
  t.ok(agent.logs.some((l) => l.msg === 'lease revoked on shutdown'), 'the revocation is logged');
  t.equal((await pg.canLogIn(c.user, c.password)).ok, false, 'after shutdown, PostgreSQL refuses them');
  assertNoLeak(t, [agent.stdout(), agent.stderr()], [c.password]);
});

/** the leases the server holds for a role (sys/leases/lookup, as root) */
async function leasesOf(role: string): Promise<string[]> {
  const r = await bao.api('LIST', `sys/leases/lookup/database/creds/${role}`);
  return r.status === 404 ? [] : ((r.body?.data?.keys ?? []) as string[]);
}

t.test('a failed init gives back the leases it fetched: no credentials are left for a pod that never starts', async (t) => {
  const before = await leasesOf('long');
  const dir = agentDir(t, token);
  const cfg = writeAgentConfig(dir, {
    address: bao.url,
    secrets: { db: { path: 'database/creds/long' }, api: { path: 'secret/data/not-written-yet' } },
    template: '{{db.username}}:{{db.password}}:{{api.key}}',
  });
  for (let attempt = 1; attempt <= 3; attempt++) {
    // an init container that fails restarts: each attempt fetches new credentials
    const r = await runInit(dir, cfg);
    t.equal(r.code, 3, `attempt ${attempt}: exit 3, the KV secret is missing`);
    t.ok(r.logs.some((l) => l.msg === 'lease revoked as unused: init failed' && l.secret === 'db'), `attempt ${attempt}: the database lease is revoked, and that is logged`);
  }
  t.same(await leasesOf('long'), before, 'no lease of the three attempts is left on the server');
});

t.test('plan gives back the leases it fetched to show what init would write', async (t) => {
  const before = await leasesOf('long');
  const dir = agentDir(t, token);
  const cfg = writeAgentConfig(dir, { address: bao.url, secrets: { db: { path: 'database/creds/long' } }, template: '{{db.username}}:{{db.password}}' });
  const r = await runCli(['plan', '-c', cfg], { program: BUNDLE, cwd: dir });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /out\.txt/, 'the plan lists the file');
  t.ok(r.logs.some((l) => l.msg === 'lease revoked as unused: plan writes nothing'), 'the revocation is logged');
  t.same(await leasesOf('long'), before, 'the lease is gone from the server');
});
