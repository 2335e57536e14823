import t from 'tap';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
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
