// Which way the writer does its file steps, and what that buys: on a memory
// filesystem a whole write is one turn of the event loop, so a loop busy
// with checks does not stretch it; elsewhere every step goes to the thread
// pool, so a slow disk stalls a thread and not the loop.

import t, { type Test } from 'tap';
import fs, { mkdtempSync, readFileSync, renameSync, rmSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeAtomic } from '../../agent/writer/atomic-write.ts';
import { inMemory, stepsFor, threadPool, type WriteSteps } from '../../agent/writer/write-steps.ts';

const TMPFS_MAGIC = 0x01021994;
/** a tmpfs directory: /dev/shm on every Linux this runs on (and in CI) */
function memoryDir(t: Test): string {
  if (statfsSync('/dev/shm').type !== TMPFS_MAGIC) throw new Error('/dev/shm is not tmpfs here: these tests need a tmpfs directory (mount -t tmpfs tmpfs /dev/shm)');
  const dir = mkdtempSync('/dev/shm/write-steps-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('a directory on tmpfs gets the in-memory steps, one not there yet those of its nearest parent', async (t) => {
  const dir = memoryDir(t);
  t.equal(await stepsFor(dir), inMemory);
  t.equal(await stepsFor(path.join(dir, 'not/yet')), inMemory, 'created on its parent filesystem');
  writeFileSync(path.join(dir, 'file'), '');
  t.equal(await stepsFor(path.join(dir, 'file/sub')), threadPool, 'cannot be told (a file in the way): the thread pool');
});

t.test('a directory elsewhere gets the thread pool', async (t) => {
  // /proc is never tmpfs, and the temp dir only when it says so
  t.equal(await stepsFor('/proc/self'), threadPool);
  const tmp = mkdtempSync(path.join(tmpdir(), 'write-steps-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  t.equal(await stepsFor(tmp), statfsSync(tmp).type === TMPFS_MAGIC ? inMemory : threadPool);
});

/** whether a setImmediate queued before the write ran before it resolved: a write that took a turn of the event loop lets it */
async function loopTurned(write: () => Promise<unknown>): Promise<boolean> {
  let turned = false;
  const handle = setImmediate(() => (turned = true));
  try {
    await write();
    return turned;
  } finally {
    clearImmediate(handle);
  }
}

for (const [steps, turns] of [
  [inMemory, false],
  [threadPool, true],
] as Array<[WriteSteps, boolean]>) {
  t.test(`${steps.name}: a write ${turns ? 'waits for the event loop' : 'is done in one turn of the event loop'}`, async (t) => {
    const root = memoryDir(t);
    const dest = path.join(root, 'conf/app.env');
    const opts = { mode: 0o600, root };
    t.equal(await loopTurned(() => writeAtomic(dest, Buffer.from('S=1\n'), opts, steps)), turns, 'a first write, its directory created');
    t.equal(await loopTurned(() => writeAtomic(dest, Buffer.from('S=2\n'), opts, steps)), turns, 'a change');
    t.equal(await loopTurned(() => writeAtomic(dest, Buffer.from('S=2\n'), opts, steps)), turns, 'no change');
    t.equal(readFileSync(dest, 'utf8'), 'S=2\n');
  });
}

t.test('writes to tmpfs choose the in-memory steps themselves', async (t) => {
  const root = memoryDir(t);
  const dest = path.join(root, 'app.env');
  await writeAtomic(dest, Buffer.from('S=0\n'), { mode: 0o600, root }); // the first asks statfs (one turn)
  t.equal(await loopTurned(() => writeAtomic(dest, Buffer.from('S=1\n'), { mode: 0o600, root })), false, 'then a write takes one turn');
  t.equal(readFileSync(dest, 'utf8'), 'S=1\n');
});

/** calls of the synchronous fs functions the in-memory steps use, while `run` runs */
async function syncCalls(run: () => Promise<unknown>): Promise<{ fsyncSync: number; writeSync: number }> {
  const calls = { fsyncSync: 0, writeSync: 0 };
  const real = { fsyncSync: fs.fsyncSync, writeSync: fs.writeSync };
  const mutable = fs as unknown as Record<keyof typeof calls, (...a: unknown[]) => unknown>;
  for (const k of Object.keys(calls) as Array<keyof typeof calls>) {
    mutable[k] = (...a: unknown[]) => {
      calls[k]++;
      return (real[k] as (...a: unknown[]) => unknown)(...a);
    };
  }
  try {
    await run();
  } finally {
    Object.assign(fs, real);
  }
  return calls;
}

/** a directory on a disk (not tmpfs): the temp dir, here and in CI */
function diskDir(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'write-steps-disk-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  if (statfsSync(dir).type === TMPFS_MAGIC) throw new Error(`${tmpdir()} is tmpfs here: this test needs a temp dir on a disk (set TMPDIR to one)`);
  return dir;
}

t.test('a tmpfs directory swapped for a symlink to a disk directory: the write no longer runs its steps synchronously, on the disk', async (t) => {
  const shm = memoryDir(t);
  const disk = diskDir(t);
  const conf = path.join(shm, 'conf');
  const dest = path.join(conf, 'app.env');
  t.equal(await writeAtomic(dest, Buffer.from('S=0\n'), { mode: 0o600 }), 'written', 'a first write on tmpfs creates the directory');
  t.equal(await writeAtomic(dest, Buffer.from('S=00\n'), { mode: 0o600 }), 'written', 'the next one finds it there: known as in memory');
  t.equal(await stepsFor(conf), inMemory);
  // another container sharing the volume: the directory steps aside, a symlink to a disk takes its place
  renameSync(conf, `${conf}.aside`);
  symlinkSync(disk, conf);
  const calls = await syncCalls(async () => t.equal(await loopTurned(() => writeAtomic(dest, Buffer.from('S=1\n'), { mode: 0o600 })), true, 'the write on the disk waited for the thread pool'));
  t.same(calls, { fsyncSync: 0, writeSync: 0 }, 'no synchronous write or fsync on the disk');
  t.equal(readFileSync(path.join(disk, 'app.env'), 'utf8'), 'S=1\n');
  t.equal(await stepsFor(conf), threadPool, 'asked again: the thread pool from now on');
});

t.test('stepsFor leaves no descriptor open, whatever it meets', async (t) => {
  const shm = memoryDir(t);
  const disk = diskDir(t);
  writeFileSync(path.join(shm, 'file'), '');
  const fds = () => fs.readdirSync('/proc/self/fd').length;
  const before = fds();
  const asked = [shm, disk, path.join(shm, 'missing/deeper'), path.join(shm, 'file/sub'), path.join(disk, 'new'), '/proc/self'];
  t.same(
    (await Promise.all(asked.map((d) => stepsFor(d)))).map((s) => s.name),
    ['in-memory', 'thread-pool', 'in-memory', 'thread-pool', 'thread-pool', 'thread-pool'],
  );
  t.equal(fds(), before, 'every descriptor it opened is closed');
});
