import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readBounded, readBoundedSync, readHead } from '../../agent/files/bounded-read.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'bounded-read-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const fifo = path.join(dir, 'fifo');
execFileSync('mkfifo', [fifo]);
const zeroLink = path.join(dir, 'zero');
symlinkSync('/dev/zero', zeroLink);
const exact = path.join(dir, 'exact');
writeFileSync(exact, 'x'.repeat(100));
const linkToExact = path.join(dir, 'link');
symlinkSync(exact, linkToExact);

const refusals: Array<[string, string, RegExp]> = [
  ['a FIFO with no writer (would block forever)', fifo, /^is a FIFO \(named pipe\), not a regular file/],
  ['/dev/zero (endless)', '/dev/zero', /^is a character device, not a regular file/],
  ['a symlink to /dev/zero', zeroLink, /^is a character device, not a regular file/],
  ['a directory', dir, /^is a directory, not a regular file/],
  ['a file one byte over the limit', exact, /^is larger than 99 bytes/],
  ['a missing file', path.join(dir, 'nope'), /^does not exist$/],
];
for (const [what, file, message] of refusals) {
  t.test(what, async (t) => {
    const limit = file === exact ? 99 : 1024;
    await t.rejects(readBounded(file, limit), { name: 'ReadRefusal', message, file });
    t.throws(() => readBoundedSync(file, limit), { name: 'ReadRefusal', message, file });
  });
}

t.test('a regular file (or a symlink to one) up to the limit is read whole', async (t) => {
  t.equal((await readBounded(exact, 100)).toString(), 'x'.repeat(100));
  t.equal((await readBounded(linkToExact, 100)).length, 100);
  t.equal(readBoundedSync(exact, 100).length, 100);
  const empty = path.join(dir, 'empty');
  writeFileSync(empty, '');
  t.equal((await readBounded(empty, 10)).length, 0);
});

t.test('a file whose size fstat does not know (procfs) is still capped by what is read', async (t) => {
  t.ok((await readBounded('/proc/self/status', 64 * 1024)).toString().includes('VmRSS'), 'read while small');
  await t.rejects(readBounded('/proc/self/status', 16), { name: 'ReadRefusal', message: /^is larger than 16 bytes/ });
  t.throws(() => readBoundedSync('/proc/self/status', 16), { name: 'ReadRefusal', message: /^is larger than 16 bytes/ });
});

t.test('an aborted read gives the abort, not a refusal', async (t) => {
  const ac = new AbortController();
  ac.abort();
  await t.rejects(readBounded(exact, 100, ac.signal), { name: 'AbortError' });
});

t.test('readHead: the first bytes of a file of any length, with the same refusals of what is not a file', async (t) => {
  t.equal((await readHead(exact, 10)).toString(), 'x'.repeat(10), 'a longer file is cut, not refused');
  t.equal((await readHead(exact, 1000)).length, 100, 'a shorter file is read whole');
  const status = await readHead('/proc/self/status', 16);
  t.equal(status.length, 16, 'procfs (size 0 in fstat) is cut at the bound');
  await t.rejects(readHead(fifo, 10), { name: 'ReadRefusal', message: /^is a FIFO/ }, 'a FIFO with no writer does not block');
  await t.rejects(readHead('/dev/zero', 10), { name: 'ReadRefusal', message: /^is a character device/ });
  await t.rejects(readHead(path.join(dir, 'nope'), 10), { name: 'ReadRefusal', message: /^does not exist$/ });
});
