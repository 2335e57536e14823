import t from 'tap';
import { closeSync, ftruncateSync, mkdtempSync, rmSync, openSync, readFileSync, statSync, writeFileSync, readdirSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { writeAtomic as writeWith, removeStaleTemps, type WriteOptions } from '../../agent/writer/atomic-write.ts';
import { inMemory, stepsFor, threadPool, type WriteSteps } from '../../agent/writer/write-steps.ts';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'writer-'));

// every test of the write itself, once with each way of doing its file steps
// (write-steps.ts): the algorithm and its checks are the same for both
for (const steps of [inMemory, threadPool] as WriteSteps[]) {
  const writeAtomic = (dest: string, bytes: Buffer, opts: WriteOptions) => writeWith(dest, bytes, opts, steps);
  t.test(`${steps.name} steps`, async (t) => {
  t.test('writes with mode, creates directories, skips unchanged bytes', async (t) => {
    const dir = tmp();
    const dest = path.join(dir, 'a/b/erlmcp.env');
    t.equal(await writeAtomic(dest, Buffer.from('X=1\n'), { mode: 0o400 }), 'written');
    t.equal(readFileSync(dest, 'utf8'), 'X=1\n');
    t.equal(statSync(dest).mode & 0o777, 0o400);
    const mtime = statSync(dest).mtimeMs;
    const ino = statSync(dest).ino;
    t.equal(await writeAtomic(dest, Buffer.from('X=1\n'), { mode: 0o400 }), 'unchanged');
    t.equal(statSync(dest).ino, ino, 'same inode: nothing was replaced');
    t.equal(statSync(dest).mtimeMs, mtime);
    t.equal(await writeAtomic(dest, Buffer.from('X=1\n'), { mode: 0o440 }), 'mode-changed');
    t.equal(statSync(dest).mode & 0o777, 0o440);
    t.equal(await writeAtomic(dest, Buffer.from('X=2\n'), { mode: 0o440 }), 'written');
    t.not(statSync(dest).ino, ino, 'replaced by rename');
    t.equal(readFileSync(dest, 'utf8'), 'X=2\n');
    t.same(readdirSync(path.dirname(dest)), ['erlmcp.env'], 'no temp file left');
  });

  t.test('refuses to replace a directory and reports a clear error', async (t) => {
    const dir = tmp();
    mkdirSync(path.join(dir, 'x'));
    await t.rejects(writeAtomic(path.join(dir, 'x'), Buffer.from('a'), { mode: 0o400 }), { code: 'config', message: `${path.join(dir, 'x')} exists and is not a regular file; remove it or choose another destination` });
  });

  t.test('replaces a symlink by a file instead of writing through it', async (t) => {
    const dir = tmp();
    const target = path.join(dir, 'elsewhere');
    writeFileSync(target, 'keep');
    symlinkSync(target, path.join(dir, 'link'));
    await writeAtomic(path.join(dir, 'link'), Buffer.from('new'), { mode: 0o400 });
    t.equal(readFileSync(target, 'utf8'), 'keep', 'the symlink target is untouched');
    t.equal(readFileSync(path.join(dir, 'link'), 'utf8'), 'new');
  });

  t.test('with a root, a directory that leads out of it through a symlink is refused before anything is created', async (t) => {
    const dir = tmp();
    const root = path.join(dir, 'out');
    const outside = path.join(dir, 'outside');
    mkdirSync(path.join(root, 'ok'), { recursive: true });
    mkdirSync(outside);
    symlinkSync(outside, path.join(root, 'conf'));
    for (const dest of [path.join(root, 'conf/app.env'), path.join(root, 'conf/deeper/app.env')]) {
      await t.rejects(writeAtomic(dest, Buffer.from('S=1\n'), { mode: 0o400, root }), {
        code: 'config',
        message: `${dest} was not written: its directory leads through a symlink to ${path.join(outside, path.relative(path.join(root, 'conf'), path.dirname(dest)))}, outside the output root ${root}; remove the link`,
      });
    }
    t.same(readdirSync(outside), [], 'nothing written or created outside: not the file, not the missing directory');
    t.equal(await writeAtomic(path.join(root, 'ok/app.env'), Buffer.from('S=1\n'), { mode: 0o400, root }), 'written', 'a real directory under the root is fine');
    // a symlink that stays inside the root is fine too
    symlinkSync(path.join(root, 'ok'), path.join(root, 'alias'));
    t.equal(await writeAtomic(path.join(root, 'alias/b.env'), Buffer.from('S=2\n'), { mode: 0o400, root }), 'written');
    t.equal(readFileSync(path.join(root, 'ok/b.env'), 'utf8'), 'S=2\n');
    // the root itself may be a symlink (a mounted volume's path)
    const linkedRoot = path.join(dir, 'root-link');
    symlinkSync(root, linkedRoot);
    t.equal(await writeAtomic(path.join(linkedRoot, 'ok/c.env'), Buffer.from('S=3\n'), { mode: 0o400, root: linkedRoot }), 'written', 'a symlinked root is followed');
    await t.rejects(writeAtomic(path.join(linkedRoot, 'conf/d.env'), Buffer.from('S=4\n'), { mode: 0o400, root: linkedRoot }), { code: 'config' }, 'and still guards its subdirectories');
    t.same(readdirSync(outside), []);
  });

  t.test('unwritable directory gives an operator message', async (t) => {
    if (process.getuid?.() === 0) {
      // root ignores permissions; use a path under a file instead
      const dir = tmp();
      writeFileSync(path.join(dir, 'file'), '');
      await t.rejects(writeAtomic(path.join(dir, 'file/sub/x'), Buffer.from('a'), { mode: 0o400 }), {
        code: 'internal',
        message: new RegExp(`^cannot write ${path.join(dir, 'file/sub/x')}: (ENOTDIR|EEXIST); check that the output volume is mounted and writable by this user$`),
      });
    }
  });

  t.test('temp names taken by a leftover of an earlier process with this pid are skipped, never reused', async (t) => {
    const dir = tmp();
    const dest = path.join(dir, 'erlmcp.env');
    // the next names this process would pick: per-process counter in base 36
    const planted = [...Array(40).keys()].map((i) => path.join(dir, `.erlmcp-secrets-erlmcp.env.${process.pid}.${i.toString(36)}`));
    for (const p of planted) writeFileSync(p, 'leftover');
    t.equal(await writeAtomic(dest, Buffer.from('X=3\n'), { mode: 0o400 }), 'written');
    t.equal(readFileSync(dest, 'utf8'), 'X=3\n');
    t.ok(planted.every((p) => readFileSync(p, 'utf8') === 'leftover'), 'no leftover was opened or written through');
    t.equal(readdirSync(dir).length, planted.length + 1, 'the temp file used was renamed away');
  });

  t.test('a destination someone replaced with a huge file costs a stat, not its size in memory', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'aw-huge-'));
    const dest = path.join(dir, 'app.conf');
    // sparse: 1 GiB of size, no disk; reading it whole would allocate 1 GiB
    const fd = openSync(dest, 'w');
    ftruncateSync(fd, 1024 ** 3);
    closeSync(fd);
    const before = process.memoryUsage().arrayBuffers;
    t.equal(await writeAtomic(dest, Buffer.from('X=1\n'), { mode: 0o400 }), 'written');
    const grew = process.memoryUsage().arrayBuffers - before;
    t.ok(grew < 64 * 1024 * 1024, `external memory grew ${(grew / 1024 / 1024).toFixed(1)} MiB (bound 64 MiB)`);
    t.equal(readFileSync(dest, 'utf8'), 'X=1\n');
    t.equal(statSync(dest).mode & 0o777, 0o400);
  });
  });
}

t.test('stale temp files from a killed writer are removed', async (t) => {
  const dir = tmp();
  writeFileSync(path.join(dir, '.erlmcp-secrets-x.env.123.abcd'), 'partial');
  writeFileSync(path.join(dir, 'keep.env'), 'k');
  t.equal(await removeStaleTemps([dir, dir]), 1);
  t.same(readdirSync(dir), ['keep.env']);
});

// on tmpfs the writer does its steps in memory, on the temp dir's disk through the thread pool
for (const base of ['/dev/shm', tmpdir()]) {
  t.test(`kill -9 during rendering leaves every destination old or new, never partial (${base}: the writer picks its steps)`, async (t) => {
    const dir = mkdtempSync(path.join(base, 'writer-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const files = ['a.env', 'b.env', 'c.json'].map((f) => path.join(dir, f));
    // Each generation writes a large, self-checking content: N copies of one line.
    const whole = (content: string) => {
      const line = content.slice(0, content.indexOf('\n') + 1);
      return /^gen-\d+\n$/.test(line) && content === line.repeat(200_000);
    };
    const script = `
      import { writeAtomic } from ${JSON.stringify(path.resolve('agent/writer/atomic-write.ts'))};
      const files = ${JSON.stringify(files)};
      for (let n = 0; ; n++) {
        for (const f of files) await writeAtomic(f, Buffer.from(\`gen-\${n}\\n\`.repeat(200_000)), { mode: 0o400 });
        if (n === 0) process.stdout.write('ready\\n');
      }`;
    for (let round = 0; round < 5; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
      await new Promise((r) => setTimeout(r, 30 + round * 37));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      for (const f of files) {
        const content = readFileSync(f, 'utf8');
        t.ok(whole(content), `round ${round}: ${path.basename(f)} is a whole generation (${content.length} bytes)`);
      }
    }
    const leftovers = readdirSync(dir).filter((n) => n.startsWith('.erlmcp-secrets-'));
    t.ok(leftovers.length <= 5, 'at most one temp per killed round');
    await removeStaleTemps([dir]);
    t.same(readdirSync(dir).sort(), ['a.env', 'b.env', 'c.json']);
  });
}

t.test('stale temp files anywhere under an output root are removed at start-up; symlinks out of it are not followed', async (t) => {
  const dir = tmp();
  const root = path.join(dir, 'out');
  const outside = path.join(dir, 'outside');
  mkdirSync(path.join(root, 'old/deeper'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(path.join(root, 'old/deeper/.erlmcp-secrets-a.env.1.0'), 'partial');
  writeFileSync(path.join(root, '.erlmcp-secrets-b.env.2.0'), 'partial');
  writeFileSync(path.join(root, 'old/keep.env'), 'k');
  writeFileSync(path.join(outside, '.erlmcp-secrets-not-ours.1.0'), 'elsewhere');
  symlinkSync(outside, path.join(root, 'link-out'));
  t.equal(await removeStaleTemps([], [root]), 2);
  t.same(readdirSync(path.join(root, 'old/deeper')), []);
  t.same(readdirSync(path.join(root, 'old')).sort(), ['deeper', 'keep.env']);
  t.same(readdirSync(outside), ['.erlmcp-secrets-not-ours.1.0'], 'nothing removed through the symlink');
});

