// `npm start` (examples/erlmcp/demo.ts): the README's first command renders
// the files erlmcp itself reads from the SAMPLE secrets and lists them by
// path, size and mode, never by content.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ROOT } from '../helpers/cli.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const samples = path.join(ROOT, 'examples/erlmcp/sample-secrets');

t.test('npm start renders erlmcp\'s files and shows no value', async (t) => {
  const out = mkdtempSync(path.join(tmpdir(), 'demo-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  t.equal(pkg.scripts.start, 'node examples/erlmcp/demo.ts', 'npm start runs this demo');

  const run = spawnSync(process.execPath, ['examples/erlmcp/demo.ts'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ERLMCP_SECRETS_OUTPUT_ROOT: out },
  });
  t.equal(run.status, 0, run.stderr);
  // the files erlmcp reads (docs/erlmcp.md), each listed with its mode
  for (const [file, mode] of [
    ['erlmcp/sys.config', '0400'],
    ['erlmcp/erlmcp.env', '0400'],
    ['erlmcp/erlang.cookie', '0400'],
    ['home/.erlang.cookie', '0400'],
    ['tls.key', '0400'],
    ['erlmcp/tls/server.crt', '0440'],
  ] as const) {
    t.equal((statSync(path.join(out, file)).mode & 0o777).toString(8).padStart(4, '0'), mode, `${file} written ${mode}`);
    t.match(run.stdout, new RegExp(`^  ${file.replace(/\./g, '\\.')} +\\d+ bytes  mode ${mode}$`, 'm'), `${file} listed`);
  }
  t.match(run.stdout, 'docs/erlmcp.md', 'points to which erlmcp setting reads each file');

  const values = [
    'SAMPLE-not-a-real-password-0000',
    readFileSync(path.join(samples, 'cookie/value'), 'utf8').trim(),
    // the private key's base64 body, line by line
    ...readFileSync(path.join(samples, 'tls/tls.key'), 'utf8').split('\n').filter((l) => l.length > 20 && !l.startsWith('-----')),
  ];
  // 12-character windows: the hint names "a db password", which an 8-character window of the sample would match
  assertNoLeak(t, [run.stdout, run.stderr], values, 12);
  t.ok(readFileSync(path.join(out, 'erlmcp/sys.config'), 'utf8').includes('SAMPLE-not-a-real-password-0000'), 'the value did reach the file');
});
