import t from 'tap';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentError } from '../../agent/errors.ts';
import { fixture, fetchSecret, kubeletSecret, ref } from '../helpers/file-provider-fixture.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

/** longer than the provider's debounce plus the OS's event delivery: "nothing more came" */
const QUIET_MS = 1000;

function counter() {
  let n = 0;
  let wake: (() => void) | undefined;
  return {
    fn: () => {
      n++;
      wake?.();
    },
    get count() {
      return n;
    },
    /** resolves at the next call, or rejects after 10 s */
    next(): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('onChange was not called within 10 s')), 10_000);
        wake = () => {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        };
      });
    },
  };
}

/** what kubelet does on a Secret update: new timestamped dir, atomic ..data swap, key links, old dir removed */
function kubeletUpdate(dir: string, oldStamp: string, newStamp: string, data: Record<string, string>, newKeys: string[]) {
  mkdirSync(join(dir, `..${newStamp}`));
  for (const [k, v] of Object.entries(data)) writeFileSync(join(dir, `..${newStamp}`, k), v);
  symlinkSync(`..${newStamp}`, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const k of newKeys) symlinkSync(join('..data', k), join(dir, k));
  rmSync(join(dir, `..${oldStamp}`), { recursive: true });
}

t.test('a mounted Secret: the atomic ..data swap fires onChange once, and fetch sees the new values', async (t) => {
  const f = fixture(t);
  const secretDir = join(f.dir, 'mnt', 'db');
  kubeletSecret(secretDir, '2026_11_29_06_00_00.1', { password: 'CanaryOldPw-1a2b', username: 'erlmcp' });
  const p = await f.provider('mnt');
  t.same((await fetchSecret(p, 'db')).data, { password: 'CanaryOldPw-1a2b', username: 'erlmcp' });
  const calls = counter();
  p.watch(ref('db'), calls.fn);
  await p.whenWatching();

  const next = calls.next();
  kubeletUpdate(secretDir, '2026_11_29_06_00_00.1', '2026_11_29_07_00_00.2',
    { password: 'CanaryNewPw-3c4d', username: 'erlmcp', api_key: 'CanaryApiKey-5e6f' }, ['api_key']);
  await next;
  await sleep(QUIET_MS);
  t.equal(calls.count, 1, 'one burst of file events, one onChange');
  t.same((await fetchSecret(p, 'db')).data, { api_key: 'CanaryApiKey-5e6f', password: 'CanaryNewPw-3c4d', username: 'erlmcp' });
  assertNoLeak(t, f.logs, ['CanaryOldPw-1a2b', 'CanaryNewPw-3c4d', 'CanaryApiKey-5e6f']);
});

t.test('a JSON file replaced by rename (as editors save) fires once; rewriting equal content does not fire', async (t) => {
  const f = fixture(t);
  f.write('s/db.json', '{"password": "CanaryJsonOld-11"}');
  f.write('s/other/k', 'CanaryOther-1');
  const p = await f.provider('s');
  const calls = counter();
  p.watch(ref('db'), calls.fn);
  await p.whenWatching();

  f.write('s/db.json.tmp', '{"password": "CanaryJsonNew-22"}');
  const next = calls.next();
  renameSync(join(f.dir, 's/db.json.tmp'), join(f.dir, 's/db.json'));
  await next;
  await sleep(QUIET_MS);
  t.equal(calls.count, 1);
  t.same((await fetchSecret(p, 'db')).data, { password: 'CanaryJsonNew-22' });

  f.write('s/db.json', '{"password": "CanaryJsonNew-22"}');
  f.write('s/other/k', 'CanaryOther-2');
  await sleep(QUIET_MS);
  t.equal(calls.count, 1, 'same content, and a sibling secret changing, are not changes of db');
  assertNoLeak(t, f.logs, ['CanaryJsonOld-11', 'CanaryJsonNew-22']);
});

t.test('a secret that appears, changes layout, or disappears fires onChange', async (t) => {
  const f = fixture(t);
  mkdirSync(join(f.dir, 's'));
  const p = await f.provider('s');
  const calls = counter();
  p.watch(ref('db'), calls.fn);
  await p.whenWatching();

  let next = calls.next();
  f.write('s/db.yaml', 'password: CanaryAppear-1\n');
  await next;
  t.same((await fetchSecret(p, 'db')).data, { password: 'CanaryAppear-1' });

  next = calls.next();
  f.write('s/db/password', 'CanaryDirWins-2'); // db/ comes before db.yaml
  await next;
  t.same((await fetchSecret(p, 'db')).data, { password: 'CanaryDirWins-2' });

  next = calls.next();
  rmSync(join(f.dir, 's/db'), { recursive: true });
  rmSync(join(f.dir, 's/db.yaml'));
  await next;
  await sleep(QUIET_MS);
  const e = await fetchSecret(p, 'db').catch((err: unknown) => err);
  t.ok(e instanceof AgentError && e.code === 'missing', 'gone: fetch says missing');
  t.equal(calls.count, 3);
});

t.test('a single file mounted from a Secret/ConfigMap: the ..data swap next to it fires', async (t) => {
  const f = fixture(t);
  const dir = join(f.dir, 'config');
  kubeletSecret(dir, 'v1', { 'secrets.yaml': 'db:\n  password: CanaryMountedOld-1\n' });
  const p = await f.provider('config/secrets.yaml');
  const calls = counter();
  p.watch(ref('db'), calls.fn);
  await p.whenWatching();
  const next = calls.next();
  kubeletUpdate(dir, 'v1', 'v2', { 'secrets.yaml': 'db:\n  password: CanaryMountedNew-2\n' }, []);
  await next;
  await sleep(QUIET_MS);
  t.equal(calls.count, 1);
  t.same((await fetchSecret(p, 'db')).data, { password: 'CanaryMountedNew-2' });
});

t.test('unsubscribe stops one watch; close() stops them all', async (t) => {
  const f = fixture(t);
  f.write('s/a/k', 'CanaryA-1');
  f.write('s/b/k', 'CanaryB-1');
  const p = await f.provider('s');
  const a = counter();
  const b = counter();
  const a2 = counter();
  const stopA = p.watch(ref('a'), a.fn);
  p.watch(ref('b'), b.fn);
  p.watch(ref('a'), a2.fn);
  await p.whenWatching();

  stopA();
  let next = a2.next();
  f.write('s/a/k', 'CanaryA-2');
  await next;
  await sleep(QUIET_MS);
  t.equal(a.count, 0, 'unsubscribed watch is silent');
  t.equal(a2.count, 1, 'the other watch of the same secret still fires');

  next = b.next();
  f.write('s/b/k', 'CanaryB-2');
  await next;
  await p.close();
  f.write('s/a/k', 'CanaryA-3');
  f.write('s/b/k', 'CanaryB-3');
  await sleep(QUIET_MS);
  t.same([a.count, a2.count, b.count], [0, 1, 1], 'nothing fires after close()');
});

t.test('secrets in one directory share one watcher; each change reaches only its own secret', async (t) => {
  const f = fixture(t);
  const n = 30;
  for (let i = 0; i < n; i++) f.write(`many/s${i}`, `CanaryMany-${i}-v1`);
  f.write('many/kd/key', 'CanaryKeysDir-v1'); // a keys-dir secret (depth 1) in the same directory
  const p = await f.provider('many');
  const calls = [...Array(n).keys()].map(() => counter());
  calls.forEach((c, i) => p.watch(ref(`s${i}`), c.fn));
  const kd = counter();
  p.watch(ref('kd'), kd.fn);
  await p.whenWatching();
  t.equal(p.watchedDirectories, 1, 'one directory watcher for 31 secrets');

  let next = calls[7]!.next();
  f.write('many/s7', 'CanaryMany-7-v2');
  await next;
  next = kd.next();
  f.write('many/kd/key', 'CanaryKeysDir-v2');
  await next;
  await sleep(QUIET_MS);
  t.same(calls.map((c) => c.count), calls.map((_, i) => (i === 7 ? 1 : 0)), 'only s7 fired');
  t.equal(kd.count, 1, 'a change inside a keys-dir secret fires it');
  assertNoLeak(t, f.logs.join('\n'), ['CanaryMany-7-v1', 'CanaryMany-7-v2', 'CanaryKeysDir-v2']);
});

t.test('a secret subscribed after its directory is already watched still gets its changes', async (t) => {
  const f = fixture(t);
  f.write('late/first', 'CanaryFirst-v1');
  f.write('late/kd/key', 'CanaryLateKey-v1');
  const p = await f.provider('late');
  const first = counter();
  p.watch(ref('first'), first.fn);
  await p.whenWatching();
  const late = counter();
  const stopLate = p.watch(ref('kd'), late.fn); // depth 1, which the running watcher skipped
  await p.whenWatching();
  t.equal(p.watchedDirectories, 1);

  let next = late.next();
  f.write('late/kd/key', 'CanaryLateKey-v2');
  await next;
  next = first.next();
  f.write('late/first', 'CanaryFirst-v2');
  await next;
  stopLate();
  t.equal(p.watchedDirectories, 1, 'the directory stays watched while a secret in it is');
  await sleep(QUIET_MS);
  t.same([first.count, late.count], [1, 1]);
  assertNoLeak(t, f.logs.join('\n'), ['CanaryFirst-v1', 'CanaryFirst-v2', 'CanaryLateKey-v1', 'CanaryLateKey-v2']);
});
