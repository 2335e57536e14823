import t from 'tap';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { copySelf } from '../../agent/cli/copy-self.ts';
import { runCli } from '../helpers/cli.ts';

t.test('copies the running executable, mode 0755', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'copy-self-'));
  const dest = path.join(dir, 'bin/erlmcp-secrets');
  t.equal(await copySelf([dest], () => true), dest);
  t.ok(readFileSync(dest).equals(readFileSync(process.execPath)), 'same bytes as the running binary');
  t.equal(statSync(dest).mode & 0o777, 0o755);
});

t.test('refuses bad arguments and the Node bundle, with exit 2', async (t) => {
  await t.rejects(copySelf([], () => true), { code: 'usage', message: 'copy-self: give one absolute destination path, e.g. copy-self /erlmcp-secrets/bin/erlmcp-secrets' });
  await t.rejects(copySelf(['relative/x'], () => true), { code: 'usage' });
  const run = await runCli(['copy-self', '/tmp/x-never-written']);
  t.equal(run.code, 2);
  t.same(run.problems, ['copy-self: this is the Node.js bundle, which needs node in the application image; exec mode uses the single-binary image (the -binary tag), whose copy-self copies the binary']);
});

t.test('a file already at the destination is replaced whole; a temp left by a killed attempt (same pid: pid 1 in a container) is replaced, never written through', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'copy-self-'));
  const dest = path.join(dir, 'erlmcp-secrets');
  writeFileSync(dest, 'old');
  await copySelf([dest], () => true);
  t.equal(statSync(dest).size, statSync(process.execPath).size, 'replaced');
  t.same(readdirSync(dir), ['erlmcp-secrets'], 'no temp file left');
  const temp = path.join(dir, `.erlmcp-secrets.${process.pid}.tmp`);
  writeFileSync(temp, 'half a binary');
  await copySelf([dest], () => true);
  t.same(readdirSync(dir), ['erlmcp-secrets'], 'a stale temp does not fail the copy');
  const victim = path.join(dir, 'victim');
  writeFileSync(victim, 'keep');
  symlinkSync(victim, temp);
  await copySelf([dest], () => true);
  t.equal(readFileSync(victim, 'utf8'), 'keep', 'a symlink at the temp name: its target is untouched');
  t.ok(readFileSync(dest).equals(readFileSync(process.execPath)), 'and the copy is whole');
});

t.test('an unwritable destination is an error naming it', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'copy-self-'));
  const ro = path.join(dir, 'ro');
  mkdirSync(ro);
  chmodSync(ro, 0o555);
  const source = path.join(dir, 'src');
  writeFileSync(source, 'binary');
  const asRoot = process.getuid?.() === 0;
  // root writes through 0555: a missing parent under a file stands in for an unwritable volume
  const dest = asRoot ? path.join(source, 'below-a-file/erlmcp-secrets') : path.join(ro, 'erlmcp-secrets');
  await t.rejects(copySelf([dest], () => true, source), { code: 'internal', message: /copy-self: cannot copy the agent binary to .*: (EACCES|ENOTDIR); check that the volume is mounted/ });
  t.notOk(existsSync(dest));
});
