// `init` from the bundle copied alone into an empty folder, against each
// cloud backend on loopback (AWS: moto; Azure and GCP: the protocol fakes) and
// against all four at once. Each cloud provider lives in the bundle as a
// compressed chunk that must run with nothing beside it: no node_modules, no
// proto files (google-gax finds its protos through __dirname). Also: the
// sidecar (`run`) gets its code cache while it runs, not only at a clean exit,
// and DEBUG=* makes no bundled dependency print a credential.

import t from 'tap';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import dotenv from 'dotenv';
import { BUNDLE, ROOT, runCli, type CliRun } from '../helpers/cli.ts';
import { emulatorFor, startMoto } from '../helpers/emulators.ts';
import { BACKEND_TYPES, startFourBackends, type BackendType } from '../helpers/four-backends.ts';

const CANARY: Record<BackendType, string> = {
  vault: 'CANARY-bundle-vault-3c4d5e6f7a8b',
  aws: 'CANARY-bundle-aws-9e8d7c6b5a49',
  azure: 'CANARY-bundle-azure-1f2e3d4c5b6a',
  gcp: 'CANARY-bundle-gcp-7a6b5c4d3e2f',
};

/** the canary values that appear in a run's output */
function leaks(run: Pick<CliRun, 'stdout' | 'stderr'>): string[] {
  const out = run.stdout + run.stderr;
  return Object.values(CANARY).filter((v) => out.includes(v));
}

const moto = await emulatorFor(t, startMoto);
if (moto) {
  const backends = await startFourBackends(moto);
  t.teardown(() => backends.close());
  /** each secret's provider-specific fields, by backend */
  const fields = new Map<BackendType, Record<string, unknown>>();
  for (const type of BACKEND_TYPES) {
    fields.set(type, await backends.put(type, `erlmcp-${type}`, { username: `user-${type}`, password: CANARY[type] }));
  }
  const work = mkdtempSync(path.join(tmpdir(), 'bundle-providers-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));

  /** a fresh empty folder holding only the bundle, and a config for `types` in another folder */
  function scenario(name: string, types: readonly BackendType[], secretOverrides: Partial<Record<BackendType, Record<string, unknown>>> = {}) {
    const alone = path.join(work, `${name}-bundle`);
    const cfgDir = path.join(work, `${name}-config`);
    mkdirSync(alone); // throws if it exists: every scenario starts empty
    mkdirSync(cfgDir);
    copyFileSync(BUNDLE, path.join(alone, 'erlmcp-secrets.js'));
    // JSON is flow YAML
    const secrets = types.map(
      (type) => `  ${type}: ${JSON.stringify({ provider: type, ...(secretOverrides[type] ?? fields.get(type)), require: { password: { minLength: 20 }, username: {} } })}`,
    );
    const lines = types.map((type) => `${type.toUpperCase()}_PASSWORD={{${type}.password}}\\n`).join('');
    const cfg = path.join(cfgDir, 'agent.yaml');
    writeFileSync(
      cfg,
      `providers:\n${backends.providersYaml(types)}\nsecrets:\n${secrets.join('\n')}\noutput: { root: ./out }\n` +
        `templates:\n  - { contents: "${lines}", destination: app.env }\ninit: { timeout: 20s, backoff: { initial: 100ms, max: 400ms } }\n`,
    );
    return { alone, cfg, out: path.join(cfgDir, 'out/app.env') };
  }

  async function init(s: { alone: string; cfg: string }, nodeArgs: string[] = []): Promise<CliRun> {
    return runCli(['init', '-c', s.cfg], {
      nodeArgs,
      program: path.join(s.alone, 'erlmcp-secrets.js'),
      cwd: s.alone,
      env: { ...backends.env, ERLMCP_SECRETS_CODE_CACHE: path.join(s.alone, 'cache') },
      timeoutMs: 60_000,
    });
  }

  for (const type of ['aws', 'azure', 'gcp'] as const) {
    t.test(`${type}: exit 0 from the bundle alone, values rendered, nothing leaked`, async (t) => {
      const s = scenario(type, [type]);
      t.same(readdirSync(s.alone), ['erlmcp-secrets.js'], 'nothing beside the bundle');
      const run = await init(s);
      t.equal(run.code, 0, 'exit 0', { stderr: run.stderr });
      t.same(dotenv.parse(readFileSync(s.out)), { [`${type.toUpperCase()}_PASSWORD`]: CANARY[type] });
      t.same(run.logs.filter((l) => l.audit).map((l) => [l.secret, l.provider, l.outcome]), [[type, type, 'ok']]);
      t.same(leaks(run), [], 'no secret value in any output');
      // the second run compiles the chunk from the code cache the first one wrote
      t.ok(readdirSync(path.join(s.alone, 'cache')).some((f) => f.includes(`-init-${type}-`)), `code cache for the ${type} chunk written`);
      const again = await init(s);
      t.equal(again.code, 0, 'exit 0 again', { stderr: again.stderr });
    });

    t.test(`${type}: a secret that does not exist is exit 3, named, from the bundle alone`, async (t) => {
      const missing: Record<typeof type, Record<string, unknown>> = { aws: { id: 'erlmcp-nope' }, azure: { name: 'erlmcp-nope' }, gcp: { name: 'erlmcp-nope', json: true } };
      const s = scenario(`${type}-missing`, [type], { [type]: missing[type] });
      const run = await init(s);
      t.equal(run.code, 3, 'exit 3', { stderr: run.stderr });
      t.equal(run.problems.length, 1, 'one problem', { problems: run.problems });
      t.match(run.problems[0], new RegExp(`^${type}: .*erlmcp-nope`), 'the problem names the secret and what was looked up');
      t.notOk(existsSync(s.out), 'nothing rendered');
      t.same(leaks(run), []);
    });
  }

  t.test('all four backends in one init from the bundle alone', async (t) => {
    const s = scenario('all', BACKEND_TYPES);
    const run = await init(s);
    t.equal(run.code, 0, 'exit 0', { stderr: run.stderr });
    t.same(
      dotenv.parse(readFileSync(s.out)),
      Object.fromEntries(BACKEND_TYPES.map((type) => [`${type.toUpperCase()}_PASSWORD`, CANARY[type]])),
    );
    t.same(run.logs.filter((l) => l.audit).map((l) => l.provider).sort(), [...BACKEND_TYPES].sort());
    t.same(leaks(run), []);
  });

  t.test('all four backends under the node flags the image runs with (image/node-flags.json), each flag set with its own code cache', async (t) => {
    const flags = (JSON.parse(readFileSync(path.join(ROOT, 'image/node-flags.json'), 'utf8')) as { flags: string[] }).flags;
    const s = scenario('image-flags', BACKEND_TYPES);
    const run = await init(s, flags);
    t.equal(run.code, 0, 'exit 0', { stderr: run.stderr });
    t.same(
      dotenv.parse(readFileSync(s.out)),
      Object.fromEntries(BACKEND_TYPES.map((type) => [`${type.toUpperCase()}_PASSWORD`, CANARY[type]])),
    );
    t.same(leaks(run), []);
    const plain = await init(s);
    t.equal(plain.code, 0, 'and without flags', { stderr: plain.stderr });
    const caches = readdirSync(path.join(s.alone, 'cache'));
    const tagged = caches.filter((f) => /-init-v\d.*-f[0-9a-f]+\.v8cache$/.test(f));
    const untagged = caches.filter((f) => /-init-v\d[^-]*-x64\.v8cache$|-init-v\d[^-]*-arm64\.v8cache$/.test(f));
    t.equal(tagged.length, 1, `one program cache for the flagged runs (${caches.join(', ')})`);
    t.equal(untagged.length, 1, 'and one for the plain runs');
  });

  t.test('run: the code cache is written while the sidecar runs, so a SIGKILLed one still leaves it', async (t) => {
    const s = scenario('run', ['vault', 'gcp']);
    writeFileSync(s.cfg, `${readFileSync(s.cfg, 'utf8')}server: { enabled: false }\nrefresh: { interval: 1h }\n`);
    const cache = path.join(s.alone, 'cache');
    const child = spawn(process.execPath, [path.join(s.alone, 'erlmcp-secrets.js'), 'run', '-c', s.cfg], {
      cwd: s.alone,
      env: { PATH: process.env.PATH, ...backends.env, ERLMCP_SECRETS_CODE_CACHE: cache },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    t.teardown(() => {
      child.kill('SIGKILL');
    });
    const written = () => (existsSync(cache) ? readdirSync(cache).filter((f) => f.endsWith('.v8cache')) : []);
    const deadline = Date.now() + 30_000;
    while (written().length < 2 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 250));
    t.equal(child.exitCode, null, 'the sidecar is still running', { stderr });
    t.ok(existsSync(s.out), 'the init gate rendered before the loop started');
    child.kill('SIGKILL'); // no exit handler runs
    await exited;
    const files = written();
    t.ok(files.some((f) => /-run-v\d/.test(f)), `the program's cache for run (${files.join(', ')})`);
    t.ok(files.some((f) => f.includes('-run-gcp-')), `the gcp chunk's cache for run (${files.join(', ')})`);
    t.same(leaks({ stdout: '', stderr }), [], 'nothing leaked');
  });

  t.test('DEBUG=* in the environment: no bundled dependency prints the AppRole secret_id', async (t) => {
    const secretId = 'CANARY-bundle-secret-id-5e4d3c2b1a09';
    backends.vault.addAppRole('bundle-debug', { roleId: 'bundle-debug-role', secretIds: [secretId], policies: ['root'] });
    const s = scenario('debug-env', ['vault']);
    const dir = path.dirname(s.cfg);
    writeFileSync(path.join(dir, 'role-id'), 'bundle-debug-role');
    writeFileSync(path.join(dir, 'secret-id'), secretId);
    const approle = { ...backends.providerConfig('vault'), auth: { method: 'approle', mount: 'approle', roleIdFile: './role-id', secretIdFile: './secret-id' } };
    writeFileSync(s.cfg, readFileSync(s.cfg, 'utf8').replace(/^ {2}vault: \{.*\}$/m, `  vault: ${JSON.stringify(approle)}`));
    const run = await runCli(['init', '-c', s.cfg, '--log-level', 'trace'], {
      program: path.join(s.alone, 'erlmcp-secrets.js'),
      cwd: s.alone,
      env: { ...backends.env, DEBUG: '*', ERLMCP_SECRETS_CODE_CACHE: 'off' },
    });
    t.equal(run.code, 0, 'exit 0', { stderr: run.stderr });
    t.equal(backends.vault.count('/v1/auth/approle/login', 'PUT') + backends.vault.count('/v1/auth/approle/login', 'POST'), 1, 'logged in with the AppRole');
    t.notOk((run.stdout + run.stderr).includes(secretId), 'the secret_id is in no output');
    t.same(leaks(run), []);
  });
}
