// `check` (the bundle) catches everything `init` would refuse without
// fetching: Object.prototype names, templates using undeclared secrets or
// keys, destinations past NAME_MAX/PATH_MAX, providers that cannot start; and
// the configs the webhook injects pass it. Each refusal is exit 2 with the
// problem named; `init` on the same config refuses it the same way before it
// fetches anything (no ENAMETOOLONG exit 1 after the fetch).

import t, { type Test } from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BUNDLE, runCli, type CliRun } from '../helpers/cli.ts';
import { admit, agentConfigOf, loadReview } from '../helpers/webhook-admit.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm run build\` first`);

const CANARY = 'CANARY-7f3a91c2-zq8wv4';
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { program: BUNDLE, env, timeoutMs: 60_000 });

/** a workspace whose file provider holds secrets `db` (keys password, toString, constructor) and `constructor` (key valueOf) */
function workspace(config: string): { dir: string; cfg: string; out: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'check-offline-'));
  for (const [secret, keys] of [['db', ['password', 'toString', 'constructor']], ['constructor', ['valueOf']]] as const) {
    mkdirSync(path.join(dir, 'secrets', secret), { recursive: true });
    for (const k of keys) writeFileSync(path.join(dir, 'secrets', secret, k), `${CANARY}-${k}`);
  }
  mkdirSync(path.join(dir, 'out'));
  const cfg = path.join(dir, 'agent.yaml');
  writeFileSync(cfg, config);
  return { dir, cfg, out: path.join(dir, 'out') };
}

const cfgWith = (secrets: string, templates: string, extra = '') => `providers:
  local: { type: file, path: ./secrets }
${extra}secrets:
${secrets}
output: { root: ./out }
templates:
${templates}
`;

function refused(t: Test, run: CliRun, command: string, problems: string[]): void {
  t.equal(run.code, 2, `${command}: exit 2\n${run.stderr.slice(0, 2000)}`);
  t.same(run.problems, problems, `${command}: every problem, named`);
  t.notOk(run.logs.some((l) => l.audit === true), `${command}: nothing was fetched`);
  t.notMatch(run.stderr, /ENAMETOOLONG|internal error|this is a bug/, `${command}: not an internal error`);
  assertNoLeak(t, [run.stdout, run.stderr], [CANARY]);
}

async function bothRefuse(t: Test, config: string, problems: (cfg: string) => string[]): Promise<void> {
  const w = workspace(config);
  refused(t, await cli(['check', '-c', w.cfg]), 'check', problems(w.cfg));
  refused(t, await cli(['init', '-c', w.cfg]), 'init', problems(w.cfg));
  t.same(readdirSync(w.out), [], 'init wrote nothing');
}

t.test('Object.prototype names as undeclared secrets are refused for the true reason', async (t) => {
  await bothRefuse(t, cfgWith('  db: { provider: local, require: [password] }', '  - { contents: "A={{toString.k}} B={{constructor.x}} C={{valueOf.y}}\\n", destination: a.env }'), (cfg) => [
    `${cfg}: templates[0] (a.env): {{toString.k}} at line 1: no secret "toString" is declared (declared: db)`,
    `${cfg}: templates[0] (a.env): {{constructor.x}} at line 1: no secret "constructor" is declared (declared: db)`,
    `${cfg}: templates[0] (a.env): {{valueOf.y}} at line 1: no secret "valueOf" is declared (declared: db)`,
  ]);
  await bothRefuse(t, cfgWith('  db: { provider: local, require: [password] }', '  - { contents: "A={{db.hasOwnProperty}}\\n", destination: a.env }'), (cfg) => [
    `${cfg}: templates[0] (a.env): {{db.hasOwnProperty}} at line 1: secret "db" declares no key "hasOwnProperty" (declared: password)`,
  ]);
  await bothRefuse(t, cfgWith('  db: { provider: constructor }', '  - { contents: "A={{db.password}}\\n", destination: a.env }'), (cfg) => [
    `${cfg}: secrets.db.provider: unknown provider "constructor" (known: local)`,
  ]);
  await bothRefuse(t, cfgWith('  db: { provider: local, require: { __proto__: { minLength: 3 } } }', '  - { contents: "A={{db.password}}\\n", destination: a.env }'), (cfg) => [
    `${cfg}: secrets.db.require: a key named "__proto__" cannot be used (it cannot be told apart from JavaScript's object prototype); rename it`,
  ]);
  await bothRefuse(t, cfgWith('  db: { provider: local, require: [__proto__] }', '  - { contents: "A={{db.password}}\\n", destination: a.env }'), (cfg) => [
    `${cfg}: secrets.db.require[0]: "__proto__" cannot be used as a name here`,
  ]);
});

t.test('Object.prototype names that are declared work end to end', async (t) => {
  const w = workspace(
    cfgWith(
      '  constructor: { provider: toString, require: [valueOf] }\n  db: { provider: toString, require: [toString, constructor] }',
      '  - { contents: "V={{constructor.valueOf}}\\nT={{db.toString}}\\nC={{db.constructor}}\\n", destination: valueOf }',
      '  toString: { type: file, path: ./secrets }\n',
    ),
  );
  const check = await cli(['check', '-c', w.cfg]);
  t.equal(check.code, 0, `check: exit 0\n${check.stderr}`);
  t.match(check.stdout, /ok: 2 providers, 2 secrets, 1 template/);
  const init = await cli(['init', '-c', w.cfg]);
  t.equal(init.code, 0, `init: exit 0\n${init.stderr}`);
  t.equal(readFileSync(path.join(w.out, 'valueOf'), 'utf8'), `V=${CANARY}-valueOf\nT=${CANARY}-toString\nC=${CANARY}-constructor\n`, 'the values of keys named toString and constructor, not functions');
  assertNoLeak(t, [init.stdout, init.stderr, check.stdout, check.stderr], [CANARY]);
});

t.test('file names and paths past NAME_MAX/PATH_MAX: check refuses them, init does not fail with ENAMETOOLONG', async (t) => {
  const tpl = (dest: string) => cfgWith('  db: { provider: local, require: [password] }', `  - { contents: "P={{db.password}}\\n", destination: "${dest}" }`);
  const long = 'n'.repeat(300);
  await bothRefuse(t, tpl(long), (cfg) => [
    `${cfg}: templates[0].destination: ${shortPath(path.join(path.dirname(cfg), 'out', long))} cannot be created: the file name is 300 bytes long; Linux allows 255 bytes in a name (NAME_MAX) and the agent's temp file beside it needs 36 more, so keep it at most 219`,
  ]);
  // at the limit: written for real; one byte more: refused before any fetch
  const w = workspace(tpl('m'.repeat(219)));
  const ok = await cli(['init', '-c', w.cfg]);
  t.equal(ok.code, 0, `a 219-byte name is written\n${ok.stderr.slice(0, 1000)}`);
  t.equal(readFileSync(path.join(w.out, 'm'.repeat(219)), 'utf8'), `P=${CANARY}-password\n`);
  const over = workspace(tpl('m'.repeat(220)));
  const refusedRun = await cli(['check', '-c', over.cfg]);
  t.equal(refusedRun.code, 2, 'a 220-byte name is refused by check');
  t.match(refusedRun.problems[0], /the file name is 220 bytes long; .* keep it at most 219$/);
  // multi-byte names count in bytes: 110 two-byte characters are 220 bytes
  const utf8 = workspace(tpl('é'.repeat(110)));
  t.match((await cli(['check', '-c', utf8.cfg])).problems[0], /the file name is 220 bytes long/);
  // a path of short names whose total is past PATH_MAX
  const deep = workspace(tpl(`${Array.from({ length: 21 }, () => 'd'.repeat(200)).join('/')}/f`));
  const deepRun = await cli(['check', '-c', deep.cfg]);
  t.equal(deepRun.code, 2);
  t.match(deepRun.problems[0], /the path is \d+ bytes long; Linux allows 4095 bytes in a path \(PATH_MAX\) and the agent's temp file beside it needs 36 more, so keep it at most 4059$/);
  const dir = workspace(tpl(`${'d'.repeat(256)}/f`));
  t.match((await cli(['check', '-c', dir.cfg])).problems[0], /the directory name "d{20}\.\.\." is 256 bytes long; Linux allows 255 bytes in a name \(NAME_MAX\)$/);
});

function shortPath(p: string): string {
  return p.length <= 120 ? p : `${p.slice(0, 60)}...${p.slice(-40)}`;
}

t.test('a provider that cannot start fails check, not only init', async (t) => {
  const w = workspace(
    `providers:
  local: { type: file, path: ./nope }
  v: { type: vault, address: "https://127.0.0.1:1", auth: { method: token, tokenFile: ./t }, tls: { caFile: ./missing-ca.pem } }
secrets:
  db: { provider: local }
  other: { provider: v, path: secret/data/x }
output: { root: ./out }
`,
  );
  const run = await cli(['check', '-c', w.cfg]);
  t.equal(run.code, 2);
  t.same(run.problems, [
    `${w.cfg}: providers.local.path: ./nope does not exist (resolved to ${path.join(w.dir, 'nope')}); create it or fix the path`,
    `${w.cfg}: vault provider "v": cannot read tls.caFile ${path.join(w.dir, 'missing-ca.pem')} (ENOENT)`,
  ]);
  t.notOk(run.logs.some((l) => l.audit === true), 'nothing fetched');
});

t.test('the configs the webhook injects pass check (the bundle, from ERLMCP_SECRETS_CONFIG)', async (t) => {
  // (exec.json names a CA file that exists only in its pod: `check` there, not here, reads it)
  for (const name of ['native-sidecar.json', 'sidecar-job.json']) {
    const { response, pod } = admit(loadReview(name));
    t.equal(response.allowed, true, `${name} admitted`);
    const agent = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.env?.some((e) => e.name === 'ERLMCP_SECRETS_CONFIG'))!;
    const run = await cli(['check'], { ERLMCP_SECRETS_CONFIG: JSON.stringify(agentConfigOf(pod, agent.name)) });
    t.equal(run.code, 0, `${name}: check exit 0\n${run.stderr.slice(0, 2000)}`);
    t.match(run.stdout, /^\$ERLMCP_SECRETS_CONFIG: ok: /);
  }
  // and the config of the pod the webhook used to admit fails check for the reason the webhook now gives
  const cfg = agentConfigOf(admit(loadReview('native-sidecar.json')).pod, 'erlmcp-secrets');
  (cfg.secrets as Record<string, { require: string[] }>).db!.require = ['username', 'password'];
  const before = await cli(['check'], { ERLMCP_SECRETS_CONFIG: JSON.stringify(cfg) });
  t.equal(before.code, 2);
  t.same(before.problems, ['$ERLMCP_SECRETS_CONFIG: templates[1] (erlmcp.env): {{db.host}} at line 1: secret "db" declares no key "host" (declared: username, password)']);
});
