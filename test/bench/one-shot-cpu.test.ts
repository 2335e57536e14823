// bench/one-shot-cpu.ts (CPU per one-shot run: ours against consul-template
// `-once` on a real OpenBao server, bench/README.md's CPU table) runs end to
// end on one round, with the startup-snapshot and --compare cases, and prints
// a complete table: every run measured, every cell a number, no secret value.
// The figures themselves are the bench's business, not this test's.

import t from 'tap';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CONSUL_TEMPLATE, CONSUL_TEMPLATE_INSTALL } from '../../bench/peers/agents.ts';
import { BAO_INSTALL, requireBao } from '../helpers/openbao.ts';
import { BUNDLE, ROOT, runCli } from '../helpers/cli.ts';

t.test('node bench/one-shot-cpu.ts on one round prints a complete table', async (t) => {
  t.setTimeout(280_000);
  requireBao();
  if (!existsSync(CONSUL_TEMPLATE)) throw new Error(`consul-template is missing at ${CONSUL_TEMPLATE}: run \`${CONSUL_TEMPLATE_INSTALL}\` (OpenBao: ${BAO_INSTALL})`);
  if (!existsSync(BUNDLE)) throw new Error('dist/erlmcp-secrets.js is missing: run `npm run build`');
  const work = mkdtempSync(path.join(tmpdir(), 'one-shot-cpu-test-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const other = path.join(work, 'other-build.js');
  copyFileSync(BUNDLE, other);
  // the env passes HOME on, where the install script caches consul-template
  const r = await runCli(['--rounds', '1', '--snapshot', '--compare', other], {
    program: path.join(ROOT, 'bench/one-shot-cpu.ts'),
    timeoutMs: 240_000,
    ...(process.env.ERLMCP_SECRETS_CACHE ? { env: { ERLMCP_SECRETS_CACHE: process.env.ERLMCP_SECRETS_CACHE } } : {}),
  });
  t.equal(r.code, 0, `the bench exits 0: ${r.stderr.slice(-3000)}`);
  const cells = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) => l.slice(1, -1).split('|').map((c) => c.trim()));
  t.same(cells[0], ['run', 'CPU', 'wall']);
  const runs = cells.slice(2);
  t.same(
    runs.map((c) => c[0]!.replace(/`/g, '')),
    [
      'consul-template -once, the whole render',
      "node -e 0 with the image's flags",
      'erlmcp-secrets version (loads the program from the code cache, does nothing)',
      'erlmcp-secrets init, Vault, code cache warm',
      'the same, code cache off',
      'the same, without --lite-mode',
      'version, other-build.js',
      'init, code cache warm, other-build.js',
      'node -e 0, image flags, from the startup snapshot',
      'erlmcp-secrets init, code cache warm, from the startup snapshot',
    ],
    'one row per run',
  );
  for (const c of runs) t.ok(c.length === 3 && c.slice(1).every((v) => /^\d+ ms$/.test(v)), `${c[0]}: CPU and wall are numbers: ${c.slice(1).join(', ')}`);
  t.notMatch(r.stdout + r.stderr, /bench-\d+-[a-z0-9]+/, 'no secret value in the output');
});
