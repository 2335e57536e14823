// KV v1 and v2 against a real OpenBao dev server (one per file): values and
// versions through the bundled CLI, soft delete, destroy, a metadata path
// the policy denies, delete_version_after (a live version carries a future
// deletion_time) and a pinned version that does not exist. Canary values
// never appear in output.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { createToken, startDevBao, writePolicy, type Bao } from '../helpers/openbao.ts';
import { agentDir, realProviderHarness, runInit, writeAgentConfig } from '../helpers/openbao-agent.ts';

const CANARY = {
  v1: 'CANARY-Kq1-3b7c9d1e5f',
  a: 'CANARY-Kq2a-8e2d4f6a',
  b: 'CANARY-Kq2b-1c3e5a7b',
};
const signal = (): AbortSignal => new AbortController().signal;

// real servers, TTLs that run out on purpose: more than tap's default 120 s on a loaded machine
t.setTimeout(360_000);

let bao: Bao;
t.before(async () => {
  bao = await startDevBao(t);
  await bao.ok('POST', 'sys/mounts/kv1', { type: 'kv', options: { version: '1' } });
  await bao.ok('PUT', 'kv1/erlang/cookie', { value: CANARY.v1 });
  await bao.ok('PUT', 'secret/data/app', { data: { password: CANARY.a } });
  await bao.ok('PUT', 'secret/data/app', { data: { password: CANARY.b } });
  await writePolicy(bao, 'reader', { 'secret/data/*': ['read'], 'secret/metadata/*': ['read'], 'kv1/*': ['read'] });
  await writePolicy(bao, 'data-only', { 'secret/data/*': ['read'] });
});


t.test('KV v1 and v2 (latest and a pinned version) through the bundle: exit 0, the values rendered, none in the output', async (t) => {
  const dir = agentDir(t, await createToken(bao, { policies: ['reader'] }));
  const cfg = writeAgentConfig(dir, {
    address: bao.url,
    secrets: { cookie: { path: 'kv1/erlang/cookie' }, now: { path: 'secret/data/app' }, first: { path: 'secret/data/app', version: 1 } },
    template: '{{cookie.value}}|{{now.password}}|{{first.password}}',
  });
  const run = await runInit(dir, cfg);
  t.equal(run.code, 0, run.stderr);
  t.equal(readFileSync(join(dir, 'out/out.txt'), 'utf8'), `${CANARY.v1}|${CANARY.b}|${CANARY.a}`);
  assertNoLeak(t, [run.stdout, run.stderr], Object.values(CANARY));
});

t.test('soft delete and destroy: exit 3 naming the version; undelete brings it back', async (t) => {
  await bao.ok('PUT', 'secret/data/gone', { data: { password: CANARY.a } });
  const dir = agentDir(t, await createToken(bao, { policies: ['reader'] }));
  const cfg = writeAgentConfig(dir, { address: bao.url, secrets: { s: { path: 'secret/data/gone' } }, template: '{{s.password}}' });

  await bao.ok('DELETE', 'secret/data/gone');
  const deleted = await runInit(dir, cfg);
  t.equal(deleted.code, 3, deleted.stderr);
  t.match(deleted.problems.join('\n'), /version 1 of secret\/data\/gone was deleted at \d{4}-\d\d-\d\dT[^;]+; undelete it or write a new version/);

  await bao.ok('PUT', 'secret/undelete/gone', { versions: [1] });
  t.equal((await runInit(dir, cfg)).code, 0, 'undeleted: readable again');

  await bao.ok('PUT', 'secret/destroy/gone', { versions: [1] });
  const destroyed = await runInit(dir, cfg);
  t.equal(destroyed.code, 3, destroyed.stderr);
  t.match(destroyed.problems.join('\n'), /version 1 of secret\/data\/gone was destroyed and cannot be recovered/);
  assertNoLeak(t, [deleted.stderr, destroyed.stderr, deleted.stdout, destroyed.stdout], Object.values(CANARY));
});

t.test('metadata denied by policy: change checks fall back to full reads, once logged', async (t) => {
  await bao.ok('PUT', 'secret/data/meta', { data: { password: CANARY.a } });
  const h = realProviderHarness(t, bao.url);
  const p = await h.tokenProvider(await createToken(bao, { policies: ['data-only'] }));
  const ref = { name: 'm', spec: { path: 'secret/data/meta' } };
  const known = await p.fetch(ref, signal());
  t.match(known, { data: { password: CANARY.a }, version: '1', createdAt: Number }); // KV v2: the version's created_time comes along
  t.equal(await p.changed(ref, known, signal()), false, 'unchanged, by a full read');
  t.equal(h.logLines.filter((l) => l.includes('may not read secret/metadata/meta')).length, 1, 'the denial is logged once');
  await bao.ok('PUT', 'secret/data/meta', { data: { password: CANARY.b } });
  t.equal(await p.changed(ref, known, signal()), true, 'a new version is seen');
  t.equal(h.logLines.filter((l) => l.includes('may not read secret/metadata/meta')).length, 1, 'and not logged again');
  assertNoLeak(t, h.texts(), Object.values(CANARY));
});

t.test('defect 4: delete_version_after gives live versions a future deletion_time; they are not deleted', async (t) => {
  await bao.ok('POST', 'secret/metadata/expiring', { delete_version_after: '1h' });
  await bao.ok('PUT', 'secret/data/expiring', { data: { password: CANARY.a } });
  const meta = await bao.ok('GET', 'secret/metadata/expiring');
  t.ok(Date.parse(meta.data.versions['1'].deletion_time) > Date.now(), 'the real server sets a deletion_time in the future');

  const h = realProviderHarness(t, bao.url);
  const p = await h.tokenProvider(await createToken(bao, { policies: ['reader'] }));
  const latest = { name: 'e', spec: { path: 'secret/data/expiring' } };
  const pinned = { name: 'p', spec: { path: 'secret/data/expiring', version: 1 } };
  const known = await p.fetch(latest, signal());
  const knownPinned = await p.fetch(pinned, signal());
  const reads = (): number => h.logLines.filter((l) => l.includes('"msg":"vault secret read"')).length;
  const before = reads();
  t.equal(await p.changed(latest, known, signal()), false, 'latest: unchanged');
  t.equal(await p.changed(pinned, knownPinned, signal()), false, 'pinned: unchanged');
  t.equal(reads(), before, 'both checks answered from metadata alone, no data read');

  // a version whose deletion_time has passed is deleted
  await bao.ok('POST', 'secret/metadata/shortlived', { delete_version_after: '1s' });
  await bao.ok('PUT', 'secret/data/shortlived', { data: { password: CANARY.b } });
  const short = { name: 's', spec: { path: 'secret/data/shortlived' } };
  const knownShort = await p.fetch(short, signal());
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(await p.changed(short, knownShort, signal()), true, 'past its deletion_time: changed');
  const e = await h.rejected(p.fetch(short, signal()));
  t.equal(e.code, 'missing');
  t.match(e.message, /version 1 of secret\/data\/shortlived was deleted at/);
  assertNoLeak(t, h.texts(), Object.values(CANARY));
});

t.test('defect 5: a pinned version that does not exist is named', async (t) => {
  const dir = agentDir(t, await createToken(bao, { policies: ['reader'] }));
  const cfg = writeAgentConfig(dir, { address: bao.url, secrets: { s: { path: 'secret/data/app', version: 9 } }, template: '{{s.password}}' });
  const run = await runInit(dir, cfg);
  t.equal(run.code, 3, run.stderr);
  t.match(run.problems.join('\n'), /no version 9 of secret\/data\/app/);
  assertNoLeak(t, [run.stdout, run.stderr], Object.values(CANARY));
});
