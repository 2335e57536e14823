// What a write means, the same with both ways of doing its steps
// (write-steps.ts): the current file read only up to one byte more than the
// new content (a file that grows or shrinks after its stat reads as
// different), short reads and writes carried on, an owner given in part
// leaving the other part alone, the mode exact whatever the umask.

import t from 'tap';
import fs, { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeAtomic } from '../../agent/writer/atomic-write.ts';
import { inMemory, threadPool, type WriteSteps } from '../../agent/writer/write-steps.ts';

const tmp = (t: { teardown(f: () => void): void }) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'write-semantics-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

/** `base` with `after` run on the current file's path right after its fstat, and every readUpTo bound recorded */
function withHooks(base: WriteSteps, after: () => void, reads: number[]): WriteSteps {
  return {
    ...base,
    fstat: (fd) => {
      const st = base.fstat(fd);
      const done = (v: fs.Stats) => (v.isFile() && after(), v);
      return st instanceof Promise ? st.then(done) : done(st);
    },
    readUpTo: (fd, max) => (reads.push(max), base.readUpTo(fd, max)),
  };
}

for (const steps of [inMemory, threadPool]) {
  t.test(`${steps.name}: the current file is read up to one byte more than the new content`, async (t) => {
    const dir = tmp(t);
    const dest = path.join(dir, 'app.env');
    const bytes = Buffer.from('S=same-size\n');
    const reads: number[] = [];
    const none = withHooks(steps, () => {}, reads);

    writeFileSync(dest, bytes, { mode: 0o600 });
    t.equal(await writeAtomic(dest, bytes, { mode: 0o600 }, none), 'unchanged', 'exactly the new content: unchanged');
    t.same(reads, [bytes.length + 1], 'read with a bound of one byte more');

    writeFileSync(dest, 'S=same-SIZE\n', { mode: 0o600 });
    t.equal(await writeAtomic(dest, bytes, { mode: 0o600 }, none), 'written', 'the same size, other bytes: written');
    t.equal(readFileSync(dest, 'utf8'), bytes.toString());

    // the same size at the stat, then it grows by far more than the bound
    reads.length = 0;
    const grows = withHooks(steps, () => appendFileSync(dest, 'x'.repeat(1 << 20)), reads);
    t.equal(await writeAtomic(dest, bytes, { mode: 0o600 }, grows), 'written', 'a file that grew after its stat reads as different');
    t.same(reads, [bytes.length + 1], 'and only the bound was read, not the megabyte it grew by');
    t.equal(readFileSync(dest, 'utf8'), bytes.toString());

    const shrinks = withHooks(steps, () => truncateSync(dest, bytes.length - 1), []);
    t.equal(await writeAtomic(dest, bytes, { mode: 0o600 }, shrinks), 'written', 'a file that shrank after its stat (a prefix of the new bytes) reads as different');
    t.equal(readFileSync(dest, 'utf8'), bytes.toString());

    writeFileSync(dest, '', { mode: 0o600 });
    t.equal(await writeAtomic(dest, Buffer.alloc(0), { mode: 0o600 }, steps), 'unchanged', 'empty and empty: unchanged');
  });

  t.test(`${steps.name}: an owner given in part leaves the other part as it is; the mode is exact whatever the umask`, async (t) => {
    const dir = tmp(t);
    const dest = path.join(dir, 'app.env');
    // root can give the file away; anyone else gives it to itself, which still takes the call with -1
    const uid = process.getuid!() === 0 ? 4321 : process.getuid!();
    const gid = process.getgid!() === 0 ? 8765 : process.getgid!();
    const own = process.getgid!();
    t.equal(await writeAtomic(dest, Buffer.from('A=1\n'), { mode: 0o640, uid }, steps), 'written');
    t.match(statSync(dest), { uid, gid: own }, 'uid given: the group stays the creator’s');
    t.equal(await writeAtomic(dest, Buffer.from('A=2\n'), { mode: 0o640, gid }, steps), 'written');
    t.match(statSync(dest), { uid: process.getuid!(), gid }, 'gid given: the owner stays the creator');
    t.equal(await writeAtomic(dest, Buffer.from('A=2\n'), { mode: 0o640, uid }, steps), 'mode-changed', 'the same bytes, another owner: changed in place');
    t.match(statSync(dest), { uid, gid }, 'the group kept');
    t.equal(await writeAtomic(dest, Buffer.from('A=2\n'), { mode: 0o640, uid, gid }, steps), 'unchanged');

    const old = process.umask(0o077);
    try {
      t.equal(await writeAtomic(path.join(dir, 'wide.env'), Buffer.from('B=1\n'), { mode: 0o644 }, steps), 'written');
    } finally {
      process.umask(old);
    }
    t.equal(statSync(path.join(dir, 'wide.env')).mode & 0o777, 0o644, 'umask 077 did not narrow 0644');
  });
}

/** a patched fs function for the length of `run`: the in-memory steps look them up on each call */
async function patched<K extends 'readSync' | 'writeSync'>(name: K, impl: (real: (typeof fs)[K]) => (typeof fs)[K], run: () => Promise<void>): Promise<void> {
  const real = fs[name];
  (fs as Record<K, unknown>)[name] = impl(real);
  try {
    await run();
  } finally {
    (fs as Record<K, unknown>)[name] = real;
  }
}

t.test('in-memory: short reads and short writes are carried on to the whole', async (t) => {
  const dir = tmp(t);
  const dest = path.join(dir, 'app.env');
  const bytes = Buffer.from('S=a value longer than three bytes\n'.repeat(50));
  const calls = { readSync: 0, writeSync: 0 };
  await patched(
    'writeSync',
    (real) =>
      ((fd: number, buf: Buffer, off: number, len: number, pos: number) => (calls.writeSync++, real(fd, buf, off, Math.min(len, 3), pos))) as typeof fs.writeSync,
    async () => void t.equal(await writeAtomic(dest, bytes, { mode: 0o600 }, inMemory), 'written'),
  );
  t.equal(readFileSync(dest, 'utf8'), bytes.toString(), 'all of it, three bytes at a time');
  t.ok(calls.writeSync >= bytes.length / 3, `${calls.writeSync} short writes`);
  await patched(
    'readSync',
    (real) => ((fd: number, buf: Buffer, off: number, len: number, pos: number) => (calls.readSync++, real(fd, buf, off, Math.min(len, 2), pos))) as typeof fs.readSync,
    async () => void t.equal(await writeAtomic(dest, bytes, { mode: 0o600 }, inMemory), 'unchanged', 'read two bytes at a time: the same'),
  );
  t.ok(calls.readSync >= bytes.length / 2, `${calls.readSync} short reads`);
});

t.test('in-memory: a write(2) that returns 0 fails the write instead of looping forever on the event loop', async (t) => {
  // in a child: the loop it guards against would never give the test back its own loop
  const dir = tmp(t);
  const dest = path.join(dir, 'app.env');
  const script = `
    import fs from 'node:fs';
    import { writeAtomic } from ${JSON.stringify(path.resolve('agent/writer/atomic-write.ts'))};
    import { inMemory } from ${JSON.stringify(path.resolve('agent/writer/write-steps.ts'))};
    fs.writeSync = () => 0;
    writeAtomic(${JSON.stringify(dest)}, Buffer.from('S=1\\n'), { mode: 0o600 }, inMemory).then(
      (o) => console.log('resolved', o),
      (e) => console.log('rejected', e.code, e.message),
    );`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code, signal] = (await new Promise((r) => child.once('exit', (c, s) => r([c, s])))) as [number | null, string | null];
  clearTimeout(timer);
  t.equal(signal, null, 'finished within 20 s instead of hanging (killed otherwise)');
  t.equal(code, 0);
  t.match(out, /^rejected internal cannot write .*app\.env: EIO; check that the output volume is mounted and writable by this user\n$/, 'an operator error');
  t.same(fs.readdirSync(dir), [], 'no temp file left');
});
