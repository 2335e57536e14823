// A sweep at log level trace: secrets files that break in every way whose
// parser or checker could quote its input (V8's JSON.parse quotes the start
// of the text, YAML parsers quote the line, node:crypto and OpenSSL name what
// they read), first at init, then under `run` while the sidecar is serving:
// nothing of any value may reach stdout, stderr, /healthz, /readyz or
// /metrics, and nothing may be written beside the rendered files.

import t from 'tap';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { startAgent } from '../helpers/agent-process.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const C = {
  json: 'CANARYsweepJson-Ra71Kx02',
  jsonBare: 'CANARYsweepBare-Tn38Qw55',
  yaml: 'CANARYsweepYaml-Hb90Lm13',
  yamlDup: 'CANARYsweepDup-Pz46Cv81',
  env: 'CANARYsweepEnv-Js27Fd64',
  pemBody: 'CANARYsweepPemBody0a1b2c3d4e5f6a7b8c9d',
  cert: 'CANARYsweepCert-Wq15Ny70',
  pattern: 'CANARYsweepPattern-Gk83Ub29',
  good: 'CANARYsweepGood-Ye52Mo47',
  later: 'CANARYsweepLater-Xc64Vb18',
};
const ALL = Object.values(C);

const BROKEN: Record<string, string> = {
  'a.json': `{"password": ${C.jsonBare}, "user": "${C.json}"}`,
  'b.json': `"${C.json}" trailing`,
  'c.yaml': `password: "${C.yaml}\nuser: [${C.yaml}\n`,
  'd.yaml': `password: ${C.yamlDup}\npassword: ${C.yamlDup}\n`,
  'e.env': `PW=${C.env}\nKEY=-----BEGIN PRIVATE KEY-----\n${C.pemBody}\n-----END PRIVATE KEY-----\n`,
  'f.yaml': `password: *${C.yaml}\n`,
};

function workspace(): { dir: string; cfg: string; secrets: string } {
  const dir = mkdtempSync(join(tmpdir(), 'leak-sweep-'));
  const secrets = join(dir, 's');
  mkdirSync(secrets);
  return { dir, cfg: join(dir, 'agent.yaml'), secrets };
}

t.test('init: every malformed file and every broken rule is reported without a trace of a value', async (t) => {
  const w = workspace();
  t.teardown(() => rmSync(w.dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(BROKEN)) writeFileSync(join(w.secrets, name), text);
  writeFileSync(join(w.secrets, 'g.yaml'), `cert: "-----BEGIN CERTIFICATE-----\\n${C.cert}\\n-----END CERTIFICATE-----"\nkey: "-----BEGIN PRIVATE KEY-----\\n${C.pemBody}\\n-----END PRIVATE KEY-----"\npw: ${C.pattern}\nurl: ${C.pattern}\njs: "{${C.pattern}"\nb64: "${C.pattern}!"\n`);
  writeFileSync(
    w.cfg,
    `providers: { local: { type: file, path: ./s } }
secrets:
${Object.keys(BROKEN).map((f) => `  ${f.split('.')[0]}: { provider: local }`).join('\n')}
  g:
    provider: local
    require:
      cert: { format: pem-certificate }
      key: { format: pem-private-key }
      pw: { pattern: "^[0-9]+$", maxLength: 4 }
      url: { format: url }
      js: { format: json }
      b64: { format: base64 }
templates: [ { contents: "{{g.pw}}", destination: pw.txt } ]
output: { root: ./out }
server: { enabled: false }
`,
  );
  const run = await runCli(['init', '-c', w.cfg, '--log-level', 'trace']);
  t.equal(run.code, 3, 'a validation failure');
  t.equal(run.problems.length, Object.keys(BROKEN).length + 7, run.problems.join('\n'));
  t.ok(run.problems.includes('f: ./s/f.yaml is not valid YAML (an alias (*name) refers to no anchor (&name) before it); fix the file, the agent reads it again on the next refresh'), 'an unresolved alias is an error, not an empty value');
  assertNoLeak(t, [run.stdout, run.stderr], ALL);
  t.same(readdirSync(w.dir).sort(), ['agent.yaml', 's'], 'nothing written: no output, no temp file');
});

t.test('run: files that break while the sidecar serves; logs and every endpoint stay clean', async (t) => {
  const w = workspace();
  t.teardown(() => rmSync(w.dir, { recursive: true, force: true }));
  writeFileSync(join(w.secrets, 'db.json'), JSON.stringify({ password: C.good }));
  writeFileSync(join(w.secrets, 'app.env'), `PW=${C.good}\n`);
  writeFileSync(
    w.cfg,
    `providers: { local: { type: file, path: ./s } }
secrets:
  db: { provider: local, require: { password: { minLength: 8 } } }
  app: { provider: local }
templates: [ { contents: "{{db.password}} {{app.PW}}", destination: pw.txt } ]
output: { root: ./out }
server: { enabled: true, listen: "127.0.0.1:0" }
refresh: { interval: 1s, jitter: 0 }
`,
  );
  const a = startAgent(t, ['run', '-c', w.cfg, '--log-level', 'trace']);
  const listening = await a.waitForLog((l) => l.msg === 'health server listening', 'the health server');
  const url = String(listening.url);
  await a.waitForLog((l) => l.msg === 'sidecar running', 'the sidecar');

  const mark = a.logs.length;
  writeFileSync(join(w.secrets, 'db.json'), `{"password": ${C.jsonBare}}`);
  writeFileSync(join(w.secrets, 'app.env'), `PW=${C.later}\nKEY=-----BEGIN PRIVATE KEY-----\n${C.pemBody}\n-----END PRIVATE KEY-----\n`);
  await a.waitForLog((l) => l.secret === 'db' && l.outcome === 'validation', 'the broken db.json reported', 15_000, mark);
  await a.waitForLog((l) => l.secret === 'app' && l.outcome === 'validation', 'the broken app.env reported', 15_000, mark);

  const bodies: string[] = [];
  for (const p of ['/healthz', '/readyz', '/metrics']) bodies.push(await (await fetch(url + p)).text());
  t.match(bodies[2], /fetch_errors_total\{[^}]*secret="db"[^}]*code="validation"/, 'the failure is counted');

  a.proc.kill('SIGTERM');
  await a.exited;
  assertNoLeak(t, [a.stdout(), a.stderr(), ...bodies], ALL.filter((v) => v !== C.good));
  t.same(readdirSync(w.dir).sort(), ['agent.yaml', 'out', 's'], 'nothing beside the outputs');
  t.same(readdirSync(join(w.dir, 'out')), ['pw.txt'], 'no temp file left beside the output');
  // the good value was rendered and is a known secret: it may be in pw.txt, nowhere else
  assertNoLeak(t, [a.stdout(), a.stderr(), ...bodies], [C.good]);
});
