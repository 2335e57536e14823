// The image's run step without Docker. `npm run build:binary` makes one
// file; that file alone, in an empty root-owned read-only directory, run as
// uid 65532 with no HOME and its cwd there, must render the file provider's
// secrets and init against Vault (the fake, on 127.0.0.1) into a directory
// that user owns, and fail with the contract's exit codes. The bundle gets
// the same treatment, after the Dockerfile's warm stage is replayed, with the
// image's read-only, pre-warmed code cache.

import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startVaultFake, type VaultFake } from '../fakes/vault/index.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { emulatorFor, startMoto } from '../helpers/emulators.ts';
import { BACKEND_TYPES, startFourBackends } from '../helpers/four-backends.ts';
import { all, envOf, execForm, last, readDockerfile } from '../helpers/dockerfile.ts';
import {
  IMAGE_UID,
  NODE24,
  ROOT,
  asImageUser,
  bundlePath,
  buildBinary,
  makeSandbox,
  runAsImageUser,
  sandboxUnavailable,
  type Run,
  type Sandbox,
} from '../helpers/image-sandbox.ts';

const skip = sandboxUnavailable();
if (skip) t.plan(0, skip);

// Distinctive values: any slice of them in the output is a leak.
const CANARY = {
  dbPassword: 'Canary-DbPass-7f3a9c "quoted" $HOME x',
  cookie: 'CanaryCookieQx81Lm04ZpT7wV2kR9',
  jwt: 'canary-jwt-secret-5d1e8b2c4a6f0e9d7c3b1a2f4e6d8c0b',
  vaultToken: 'hvs.CanaryTokenR2d2C3po88',
};
const ALL_CANARIES = Object.values(CANARY);

const TEMPLATES = `
templates:
  - contents: "DB_USER={{db.username}}\\nDB_PASSWORD={{db.password}}\\nJWT_SECRET={{jwt.secret}}\\n"
    destination: erlmcp.env
    escape: dotenv
    mode: "0400"
  - { contents: "{{cookie.value}}", destination: erlang.cookie, mode: "0400" }
`;

const REQUIRE = {
  db: `{ username: {}, password: { minLength: 16 } }`,
  cookie: `{ value: { minLength: 20, pattern: '^[A-Za-z0-9+/=_-]+$' } }`,
  jwt: `{ secret: { minLength: 32 } }`,
};

/** the file provider's dev-secrets in the three layouts examples/local uses */
function writeDevSecrets(sb: Sandbox): void {
  sb.writeEtc('dev-secrets/db.yaml', `username: erlmcp\npassword: ${JSON.stringify(CANARY.dbPassword)}\n`);
  sb.writeEtc('dev-secrets/cookie/value', CANARY.cookie);
  sb.writeEtc('dev-secrets/jwt.env', `secret="${CANARY.jwt}"\n`);
}

function fileConfig(sb: Sandbox): string {
  return sb.writeEtc(
    'agent.yaml',
    `providers:
  local: { type: file, path: dev-secrets }
secrets:
  db: { provider: local, require: ${REQUIRE.db} }
  cookie: { provider: local, require: ${REQUIRE.cookie} }
  jwt: { provider: local, require: ${REQUIRE.jwt} }
output: { root: ${sb.out} }
init: { timeout: 20s }
${TEMPLATES}`,
  );
}

function vaultConfig(sb: Sandbox, address: string, name = 'agent.vault.yaml'): string {
  sb.writeEtc('vault/token', CANARY.vaultToken);
  return sb.writeEtc(
    name,
    `providers:
  vault: { type: vault, address: "${address}", auth: { method: token, tokenFile: vault/token } }
secrets:
  db: { provider: vault, path: secret/data/database/erlmcp, require: ${REQUIRE.db} }
  cookie: { provider: vault, path: secret/data/erlang/cookie, require: ${REQUIRE.cookie} }
  jwt: { provider: vault, path: secret/data/auth/jwt, require: ${REQUIRE.jwt} }
output: { root: ${sb.out} }
init: { timeout: 3s, backoff: { initial: 100ms, max: 500ms } }
${TEMPLATES}`,
  );
}

async function seededVault(t: Test): Promise<VaultFake> {
  const vault = await startVaultFake();
  t.teardown(() => vault.close());
  vault.putKv('secret/database/erlmcp', { username: 'erlmcp', password: CANARY.dbPassword });
  vault.putKv('secret/erlang/cookie', { value: CANARY.cookie });
  vault.putKv('secret/auth/jwt', { secret: CANARY.jwt });
  vault.setPolicy('erlmcp', {
    'secret/data/database/erlmcp': ['read'],
    'secret/data/erlang/cookie': ['read'],
    'secret/data/auth/*': ['read'],
  });
  vault.createToken({ id: CANARY.vaultToken, policies: ['erlmcp'], ttl: 3600 });
  return vault;
}

/** what erlmcp reads: both files, owned by the image user, 0400, values escaped */
function assertRendered(t: Test, sb: Sandbox): void {
  t.same(readdirSync(sb.out).sort(), ['erlang.cookie', 'erlmcp.env'], 'exactly the two rendered files, no temp files left');
  for (const f of ['erlang.cookie', 'erlmcp.env']) {
    const s = statSync(path.join(sb.out, f));
    t.equal(s.uid, IMAGE_UID, `${f} is owned by uid 65532`);
    t.equal(s.mode & 0o777, 0o400, `${f} has mode 0400`);
  }
  t.equal(readFileSync(path.join(sb.out, 'erlang.cookie'), 'utf8'), CANARY.cookie);
  const env = readFileSync(path.join(sb.out, 'erlmcp.env'), 'utf8');
  t.match(env, /^DB_USER=/m);
  t.ok(env.includes(`JWT_SECRET=`) && env.includes(CANARY.jwt), 'the JWT secret is rendered');
  // the dotenv escape keeps the quote inside the value: one line per variable
  t.equal(env.trim().split('\n').length, 3, 'a quote in the password does not start a new line');
}

function assertQuiet(t: Test, run: Run): void {
  assertNoLeak(t, [run.stdout, run.stderr], ALL_CANARIES);
  const notJson = run.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));
  t.same(notJson, [], 'stderr holds only JSON log lines (no runtime warnings)');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

t.test('the single executable, alone in a read-only directory, as uid 65532', async (t) => {
  const build = makeSandbox();
  t.teardown(() => build.cleanup());
  const built = path.join(build.out, 'erlmcp-secrets');
  const b = buildBinary(built);
  t.equal(b.status, 0, `npm run build:binary succeeds\n${b.output}`);
  if (b.status !== 0) return;
  t.same(readdirSync(build.out), ['erlmcp-secrets'], 'the build leaves one file where it was told');

  const fresh = (t: Test): { sb: Sandbox; program: string; before: string[] } => {
    const sb = makeSandbox();
    t.teardown(() => sb.cleanup());
    const program = sb.addProgram(built);
    sb.seal();
    return { sb, program, before: sb.snapshotApp() };
  };

  t.test('version and check run with nothing beside the binary', async (t) => {
    const { sb, program, before } = fresh(t);
    const version = await runAsImageUser([program, 'version'], { cwd: sb.app });
    t.equal(version.code, 0);
    t.match(version.stdout, /^erlmcp-secrets \d+\.\d+\.\d+ \(node v24\./);
    writeDevSecrets(sb);
    const check = await runAsImageUser([program, 'check', '-c', fileConfig(sb)], { cwd: sb.app });
    t.equal(check.code, 0, `exit 0${check.code === 0 ? "" : `\n${check.stderr}`}`);
    t.match(check.stdout, /ok: 1 provider, 3 secrets, 2 templates/);
    t.same(readdirSync(sb.out), [], 'check writes nothing');
    t.same(sb.snapshotApp(), before, 'the program directory is unchanged');
  });

  t.test('init with the file provider renders into the 65532-owned volume', async (t) => {
    const { sb, program, before } = fresh(t);
    writeDevSecrets(sb);
    const run = await runAsImageUser([program, 'init', '-c', fileConfig(sb)], { cwd: sb.app });
    t.equal(run.code, 0, `exit 0${run.code === 0 ? "" : `\n${run.stderr}`}`);
    assertRendered(t, sb);
    assertQuiet(t, run);
    t.same(sb.snapshotApp(), before, 'the program directory is unchanged');
  });

  t.test('init against Vault (token auth) with nothing else present', async (t) => {
    const vault = await seededVault(t);
    const { sb, program, before } = fresh(t);
    const run = await runAsImageUser([program, 'init', '-c', vaultConfig(sb, vault.url)], { cwd: sb.app });
    t.equal(run.code, 0, `exit 0${run.code === 0 ? "" : `\n${run.stderr}`}`);
    assertRendered(t, sb);
    assertQuiet(t, run);
    t.ok(vault.count('/v1/secret/data/database/erlmcp', 'GET') >= 1, 'the agent read the database secret from Vault');
    t.same(sb.snapshotApp(), before, 'the program directory is unchanged');
  });

  t.test('exit 3 when Vault lacks a required key, naming it without values', async (t) => {
    const vault = await seededVault(t);
    vault.putKv('secret/auth/jwt', { other: CANARY.jwt });
    const { sb, program } = fresh(t);
    const run = await runAsImageUser([program, 'init', '-c', vaultConfig(sb, vault.url)], { cwd: sb.app });
    t.equal(run.code, 3, `exit 3${run.code === 3 ? "" : `\n${run.stderr}`}`);
    t.match(run.stderr, /jwt/);
    t.match(run.stderr, /secret/);
    t.same(readdirSync(sb.out), [], 'nothing is rendered when a secret is missing');
    assertNoLeak(t, [run.stdout, run.stderr], ALL_CANARIES);
  });

  t.test('exit 4 when Vault is unreachable', async (t) => {
    const { sb, program } = fresh(t);
    const port = await freePort();
    const run = await runAsImageUser([program, 'init', '-c', vaultConfig(sb, `http://127.0.0.1:${port}`)], { cwd: sb.app });
    t.equal(run.code, 4, `exit 4${run.code === 4 ? "" : `\n${run.stderr}`}`);
    t.match(run.stderr, /127\.0\.0\.1/);
    assertNoLeak(t, [run.stdout, run.stderr], ALL_CANARIES);
  });

  t.test('exit 2 on a config error, before any secret is read', async (t) => {
    const { sb, program } = fresh(t);
    const bad = sb.writeEtc('bad.yaml', 'providers:\n  local: { type: nosuch }\n');
    const run = await runAsImageUser([program, 'check', '-c', bad], { cwd: sb.app });
    t.equal(run.code, 2);
    t.match(run.stderr, /nosuch/);
    const missing = await runAsImageUser([program, 'init', '-c', path.join(sb.etc, 'absent.yaml')], { cwd: sb.app });
    t.equal(missing.code, 2);
    t.match(missing.stderr, /absent\.yaml/);
  });

  t.test('exec runs the application with the secrets in its environment', async (t) => {
    const { sb, program } = fresh(t);
    writeDevSecrets(sb);
    // the child compares against a file, so no value appears on a command line
    const expected = sb.writeEtc('expected-password', CANARY.dbPassword);
    const config = sb.writeEtc(
      'exec.yaml',
      readFileSync(fileConfig(sb), 'utf8') + 'exec: { env: { DB_PASSWORD: "{{db.password}}" } }\nserver: { enabled: false }\n',
    );
    const script = `[ "$DB_PASSWORD" = "$(cat ${expected})" ] && [ -z "$HOME" ] && exit 7; exit 1`;
    const run = await runAsImageUser([program, 'exec', '-c', config, '--', '/bin/sh', '-c', script], { cwd: sb.app });
    t.equal(run.code, 7, `the child saw the password and its exit code came back${run.code === 7 ? '' : `\n${run.stderr}`}`);
    assertRendered(t, sb);
    assertNoLeak(t, [run.stdout, run.stderr], ALL_CANARIES);
  });

  t.test('init with all four remote backends: every SDK works from inside the binary', async (t) => {
    const moto = await emulatorFor(t, startMoto);
    if (!moto) return;
    const four = await startFourBackends(moto);
    t.teardown(() => four.close());
    const { sb, program } = fresh(t);
    const secrets: string[] = [];
    for (const type of BACKEND_TYPES) {
      const fields = await four.put(type, `erlmcp-${type}`, { password: `${CANARY.dbPassword}-${type}` });
      const flow = Object.entries(fields).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ');
      secrets.push(`  s_${type}: { provider: ${type}, ${flow}, require: { password: { minLength: 16 } } }`);
    }
    const config = sb.writeEtc(
      'four.yaml',
      `providers:\n${four.providersYaml(BACKEND_TYPES)}\nsecrets:\n${secrets.join('\n')}\noutput: { root: ${sb.out} }\ninit: { timeout: 30s }\n` +
        `templates:\n  - { contents: "${BACKEND_TYPES.map((x) => `${x.toUpperCase()}={{s_${x}.password}}\\n`).join('')}", destination: all.env, escape: dotenv }\n`,
    );
    // the backends' credential files are root's: run as root, still alone in
    // the read-only dir; async, since the fakes answer from this process
    const env = Object.entries(four.env).filter((e): e is [string, string] => typeof e[1] === 'string').map(([k, v]) => `${k}=${v}`);
    const child = spawn('env', ['-i', 'PATH=/usr/bin:/bin', ...env, program, 'init', '-c', config], { cwd: sb.app, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const r = { status, stdout, stderr };
    t.equal(r.status, 0, `exit 0${r.status === 0 ? '' : `\n${r.stderr}`}`);
    const rendered = readFileSync(path.join(sb.out, 'all.env'), 'utf8');
    for (const type of BACKEND_TYPES) t.ok(rendered.includes(`-${type}`), `the ${type} secret is rendered`);
    assertNoLeak(t, [r.stdout, r.stderr], ALL_CANARIES);
  });

  t.test('run (the sidecar) serves /healthz from the binary and stops on SIGTERM', async (t) => {
    const { sb, program } = fresh(t);
    writeDevSecrets(sb);
    const port = await freePort();
    const config = sb.writeEtc(
      'sidecar.yaml',
      readFileSync(fileConfig(sb), 'utf8') + `server: { listen: "127.0.0.1:${port}" }\nrefresh: { interval: 1h }\n`,
    );
    const [cmd, ...args] = asImageUser([program, 'run', '-c', config]);
    const child = spawn(cmd!, args, { cwd: sb.app, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    t.teardown(() => child.kill('SIGKILL'));

    let health: Response | undefined;
    for (let i = 0; i < 100 && !health; i++) {
      await new Promise((r) => setTimeout(r, 100));
      health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
    }
    t.ok(health, `the sidecar answers on 127.0.0.1:${port}${health ? '' : `\n${stderr}`}`);
    t.equal(health?.status, 200, '/healthz is 200');
    assertRendered(t, sb);
    child.kill('SIGTERM');
    t.equal(await exited, 0, 'SIGTERM ends the sidecar with exit 0');
    assertNoLeak(t, stderr, ALL_CANARIES);
  });
});

t.test('the default image reproduced: the Dockerfile\'s warm stage, then the bundle as 65532 with the read-only code cache', async (t) => {
  const dockerfile = readDockerfile(ROOT);
  const sb = makeSandbox();
  t.teardown(() => sb.cleanup());
  sb.addProgram(bundlePath(), 'erlmcp-secrets.js');

  // the warm stage's files: the cache dir and the example owned by 65532
  const warm = path.join(sb.root, 'warm');
  cpSync(path.join(ROOT, 'templates'), path.join(warm, 'templates'), { recursive: true });
  cpSync(path.join(ROOT, 'examples/local'), path.join(warm, 'examples/local'), { recursive: true });
  cpSync(path.join(ROOT, 'image/warm-code-cache.mjs'), path.join(warm, 'warm-code-cache.mjs'));
  mkdirSync(path.join(warm, 'out'));
  const cache = path.join(sb.app, 'code-cache');
  mkdirSync(cache, { mode: 0o755 });
  spawnSync('chown', ['-R', `${IMAGE_UID}:${IMAGE_UID}`, warm, cache]);

  // node where the image has it, linked into the sandbox: the image user may
  // not reach the checkout's node_modules (a clone under a 0700 directory)
  const node = path.join(sb.root, 'nodejs/bin/node');
  mkdirSync(path.dirname(node), { recursive: true, mode: 0o755 });
  try {
    linkSync(NODE24, node);
  } catch {
    copyFileSync(NODE24, node);
    chmodSync(node, 0o755);
  }

  // container paths -> sandbox paths
  const local = (s: string): string =>
    s.replaceAll('/nodejs/bin/node', node).replaceAll('/app/', `${sb.app}/`).replaceAll('/warm/', `${warm}/`).replace(/^\/app\/code-cache$/, cache);
  const localEnv = (env: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(env).map(([k, v]) => [k, local(v)]));

  const warmStage = dockerfile.stage('warm');
  const warmEnv = localEnv(envOf(warmStage));
  t.equal(warmEnv.ERLMCP_SECRETS_CODE_CACHE, cache);
  for (const run of all(warmStage, 'RUN')) {
    const argv = execForm(run).map(local);
    const r = await runAsImageUser(argv, { cwd: '/', env: warmEnv });
    t.equal(r.code, 0, `Dockerfile line ${run.line} runs${r.code === 0 ? '' : `\n${r.stderr}`}`);
  }
  const cached = readdirSync(cache).map((f) => /^[0-9a-f]{16}-([a-z-]+?)-v24[^-]*-\w+(?:-f[0-9a-f]+)?\.v8cache$/.exec(f)?.[1]).sort();
  t.same(
    cached,
    ['check', 'exec', 'exec-aws', 'exec-azure', 'exec-gcp', 'init', 'init-aws', 'init-azure', 'init-gcp', 'run', 'run-aws', 'run-azure', 'run-gcp', 'version'],
    'a code cache for each command the image runs, and for each cloud provider chunk under the commands that load providers',
  );

  // The warmed caches are accepted by later runs: the loader rewrites a cache
  // only when it is missing or V8 rejects it, so with the cache still
  // writable, init and exec (whose cache is a copy of init's) change nothing.
  const cacheState = (): string[] => readdirSync(cache).map((f) => `${f} ${statSync(path.join(cache, f)).size} ${statSync(path.join(cache, f)).mtimeMs}`).sort();
  const warmed = cacheState();
  writeDevSecrets(sb);
  const quietConfig = sb.writeEtc('quiet.yaml', readFileSync(fileConfig(sb), 'utf8') + 'server: { enabled: false }\n');
  // as the entrypoint runs it: V8 takes a cache only under the flags it was made with
  const entry = execForm(last(dockerfile.stage('runtime'), 'ENTRYPOINT')!).map(local);
  for (const argv of [['init', '-c', quietConfig], ['exec', '-c', quietConfig, '--', '/bin/true']]) {
    const r = await runAsImageUser([...entry, ...argv], { cwd: sb.app, env: warmEnv });
    t.equal(r.code, 0, `${argv[0]} with the warmed cache${r.code === 0 ? '' : `\n${r.stderr}`}`);
  }
  t.same(cacheState(), warmed, 'the warmed caches were accepted: nothing rewritten');

  // COPY --from=warm --chown=0:0 --chmod=0755, then the read-only program dir
  spawnSync('chown', ['-R', '0:0', cache]);
  spawnSync('chmod', ['-R', '0755', cache]);
  sb.seal();
  const before = sb.snapshotApp();

  const runtime = dockerfile.stage('runtime');
  const entrypoint = execForm(last(runtime, 'ENTRYPOINT')!).map(local);
  const env = localEnv(envOf(runtime));
  const run = await runAsImageUser([...entrypoint, 'init', '-c', fileConfig(sb)], { cwd: sb.app, env });
  t.equal(run.code, 0, `exit 0${run.code === 0 ? '' : `\n${run.stderr}`}`);
  assertRendered(t, sb);
  assertQuiet(t, run);

  const vault = await seededVault(t);
  const v = await runAsImageUser([...entrypoint, 'init', '-c', vaultConfig(sb, vault.url)], { cwd: sb.app, env });
  t.equal(v.code, 0, `exit 0${v.code === 0 ? '' : `\n${v.stderr}`}`);
  assertQuiet(t, v);
  t.same(sb.snapshotApp(), before, 'the bundle and its read-only cache are left as they were');
});
