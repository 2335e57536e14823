// `erlmcp-secrets plan`: init's fetch, checks and render, in memory; per file
// what would be written and how it compares with the disk; nothing written;
// never a value; the exit code init would give.

import t, { type Test } from 'tap';
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const PW = 'Canary-Plan-Pw-"q8$Zr\'x-41bd7f';
const TOKEN = 'Canary-Plan-Token-Mv7Kp2Wx9Lq3';

function workspace(t: Test, template = 'DB_PASSWORD={{db.password}}\\nTOKEN={{api.token}}\\n', require = 'require: { password: { minLength: 12 } }') {
  const dir = mkdtempSync(path.join(tmpdir(), 'erlmcp-plan-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'secrets/api'), { recursive: true });
  writeFileSync(path.join(dir, 'secrets/db.yaml'), `password: ${JSON.stringify(PW)}\nusername: erlmcp\n`);
  writeFileSync(path.join(dir, 'secrets/api/token'), `${TOKEN}\n`);
  const cfg = path.join(dir, 'agent.yaml');
  writeFileSync(
    cfg,
    `providers: { local: { type: file, path: ./secrets } }
secrets:
  db: { provider: local, ${require} }
  api: { provider: local }
output: { root: ./out }
templates:
  - { contents: "${template}", destination: app.env, mode: "0400" }
  - { contents: "{{api.token}}", destination: token, mode: "0440" }
`,
  );
  return { dir, cfg, out: path.join(dir, 'out') };
}

t.test('before init: every file is new, nothing is written, keys named, values never shown', async (t) => {
  const w = workspace(t);
  const r = await runCli(['plan', '-c', w.cfg]);
  t.equal(r.code, 0, r.stderr);
  t.notOk(existsSync(w.out), 'nothing written, not even the output directory');
  t.match(r.stdout, /^plan for .*agent\.yaml: 2 files, nothing written; values are never shown\n/);
  t.match(r.stdout, new RegExp(`${w.out}/app\\.env\\n {2}\\d+ bytes, mode 0400, escape dotenv\\n {2}uses api\\.token, db\\.password\\n {2}new file\\n`));
  t.match(r.stdout, /\/token\n {2}30 bytes, mode 0440, escape none\n {2}uses api\.token\n {2}new file\n/, 'the size is of the trimmed value');
  t.match(r.stdout, /\n2 new, 0 would change, 0 unchanged\n$/);
  assertNoLeak(t, [r.stdout, r.stderr], [PW, TOKEN]);
});

t.test('after init: unchanged; then content and mode changes on disk are seen', async (t) => {
  const w = workspace(t);
  t.equal((await runCli(['init', '-c', w.cfg])).code, 0);
  const same = await runCli(['plan', '-c', w.cfg]);
  t.equal(same.code, 0, same.stderr);
  t.match(same.stdout, /\n0 new, 0 would change, 2 unchanged\n$/);
  chmodSync(path.join(w.out, 'token'), 0o600);
  appendFileSync(path.join(w.out, 'token'), 'x');
  chmodSync(path.join(w.out, 'app.env'), 0o644);
  const changed = await runCli(['plan', '-c', w.cfg]);
  t.equal(changed.code, 0, changed.stderr);
  t.match(changed.stdout, /app\.env\n.*\n.*\n {2}would change: same bytes, mode 0644 on disk\n/);
  t.match(changed.stdout, /token\n.*\n.*\n {2}would change: content differs \(31 bytes on disk\)\n/);
  t.match(changed.stdout, /\n0 new, 2 would change, 0 unchanged\n$/);
  t.same(readdirSync(w.out).sort(), ['app.env', 'token'], 'plan wrote nothing (no temp files either)');
  assertNoLeak(t, [changed.stdout, changed.stderr], [PW, TOKEN]);
});

t.test('a template key the secret lacks: check passes (no require list), plan and init exit 3 naming it', async (t) => {
  const w = workspace(t, 'TOKEN={{api.tokne}}\\n');
  const check = await runCli(['check', '-c', w.cfg]);
  t.equal(check.code, 0, 'check cannot know: api declares no keys');
  const plan = await runCli(['plan', '-c', w.cfg]);
  t.equal(plan.code, 3, plan.stderr);
  t.match(plan.problems, [/^api\.tokne: missing \(used by .* at line 1; keys present: token\)$/]);
  t.equal(plan.stdout, '', 'no plan printed for a run init would fail');
  const init = await runCli(['init', '-c', w.cfg]);
  t.equal(init.code, plan.code, 'the exit code init gives');
  t.same(init.problems, plan.problems);
  assertNoLeak(t, [plan.stdout, plan.stderr], [PW, TOKEN]);
});

t.test('a broken rule: the exit code and problems init gives, in text format too, no value', async (t) => {
  const w = workspace(t, 'P={{db.password}}\\n', 'require: { password: { minLength: 200 } }');
  const plan = await runCli(['plan', '-c', w.cfg, '--log-format', 'text']);
  t.equal(plan.code, 3);
  t.match(plan.stderr, /FATAL plan failed \(exit 3\): 1 problem code=validation\n {2}- db\.password: shorter than 200 characters\n/);
  assertNoLeak(t, [plan.stdout, plan.stderr], [PW, TOKEN]);
});

t.test('a whole secret in a json section is listed as the secret, every key', async (t) => {
  const w = workspace(t, 'DB={{#json}}{{db}}{{/json}}\\n', '');
  const r = await runCli(['plan', '-c', w.cfg]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /uses db \(every key\)\n/);
  t.notMatch(r.stdout, /undefined/);
  assertNoLeak(t, [r.stdout, r.stderr], [PW, TOKEN]);
});
