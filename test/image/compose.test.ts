// examples/compose without a Docker engine (the fast check; the real `up` on
// an engine is test/containers/compose-up.test.ts): docker-compose validates
// the file against the compose schema for both profiles; the services keep
// the image's rules (uid 65532, read-only root, tmpfs output); every tmpfs
// volume is held by a long-lived service that starts before anything that
// reads it (a tmpfs volume loses its files when no container has it
// mounted); every agent config there passes `erlmcp-secrets check` in the
// file layout the compose mounts give it; and the file-provider config
// renders files the Erlang stand-in reads.

import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { NODE24, ROOT, bundlePath } from '../helpers/image-sandbox.ts';
import { freePort } from '../helpers/erlang-node.ts';
import { requireTool } from '../helpers/require-tool.ts';

const COMPOSE_DIR = path.join(ROOT, 'examples/compose');
const COMPOSE_FILE = path.join(COMPOSE_DIR, 'docker-compose.yml');
const AGENT_IMAGE = 'erlmcp-secrets:dev';

const noCompose = requireTool(t, 'docker-compose', ['version'], 'apt-get install docker-compose');
const noErlc = requireTool(t, 'erlc', ['-help'], 'apt-get install erlang-dev erlang-nox', true);

interface Service {
  image?: string;
  command?: string[];
  user?: string;
  read_only?: boolean;
  cap_drop?: string[];
  restart?: string;
  network_mode?: string;
  healthcheck?: { disable?: boolean; test?: string[] };
  environment?: Record<string, string>;
  profiles?: string[];
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
}
interface ComposeModel {
  services: Record<string, Service>;
  volumes: Record<string, { driver_opts?: Record<string, string> }>;
}

/** a failed run's output for the assertion message; nothing when it succeeded */
function failure(r: { status: number | null; stdout: string; stderr: string }): string {
  return r.status === 0 ? '' : `\n${r.stdout}${r.stderr}`;
}

function compose(args: string[], file = COMPOSE_FILE): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('docker-compose', ['-f', file, ...args], { cwd: path.dirname(file), encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** the resolved model docker-compose itself builds (relative binds made absolute) */
function model(profile?: string): ComposeModel {
  const r = compose([...(profile ? ['--profile', profile] : []), 'config']);
  if (r.status !== 0) throw new Error(`docker-compose config failed: ${r.stderr}`);
  return parseYaml(r.stdout) as ComposeModel;
}

/** the compose file as written, for what `config` does not keep (e.g. profiles it filtered) */
function rawModel(): ComposeModel {
  return parseYaml(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as ComposeModel;
}

interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
  bind: boolean;
}
function mounts(s: Service): Mount[] {
  return (s.volumes ?? []).map((v) => {
    const [source = '', target = '', mode = 'rw'] = v.split(':');
    return { source, target, readOnly: mode === 'ro', bind: source.startsWith('/') };
  });
}

const agentServices = (m: ComposeModel): Array<[string, Service]> => Object.entries(m.services).filter(([, s]) => s.image === AGENT_IMAGE);
const configOf = (s: Service): string => s.command![s.command!.indexOf('-c') + 1]!;
/** the service whose network namespace s joins (network_mode: service:X), if any */
const networkOwner = (s: Service): string[] => (s.network_mode?.startsWith('service:') ? [s.network_mode.slice('service:'.length)] : []);

/** copies a service's bind mounts into root, at root + target: the container's view of its files */
function materialize(t: Test, s: Service): string {
  const root = mkdtempSync(path.join(tmpdir(), 'erlmcp-compose-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const m of mounts(s).filter((m) => m.bind)) {
    const to = path.join(root, m.target);
    mkdirSync(path.dirname(to), { recursive: true });
    cpSync(m.source, to, { recursive: true });
  }
  return root;
}

function runAgent(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(NODE24, [bundlePath(), ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('docker-compose accepts the file, with and without the vault profile', { skip: noCompose }, async (t) => {
  for (const profile of [[], ['--profile', 'vault']]) {
    const r = compose([...profile, 'config', '-q']);
    t.equal(r.status, 0, `docker-compose ${profile.join(' ')} config -q${failure(r)}`);
  }
  // (which services a profile starts is checked on the file itself below:
  // docker-compose 1.x lists every service here, whatever the profile)
  t.same(
    compose(['--profile', 'vault', 'config', '--services']).stdout.trim().split('\n').sort(),
    ['erlmcp', 'erlmcp-vault', 'secrets-sidecar', 'secrets-sidecar-vault', 'vault', 'vault-seed'],
  );
});

t.test('docker-compose rejects a broken copy (the validation is real)', { skip: noCompose }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'erlmcp-compose-bad-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const broken = (mutate: (doc: any) => void): string => {
    const doc = parseYaml(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true });
    mutate(doc);
    const file = path.join(dir, 'docker-compose.yml');
    writeFileSync(file, stringifyYaml(doc));
    return file;
  };
  const badCondition = compose(['config', '-q'], broken((d) => (d.services.erlmcp.depends_on['secrets-sidecar'].condition = 'service_done')));
  t.not(badCondition.status, 0);
  t.match(badCondition.stderr, /condition|service_done/);
  const badKey = compose(['config', '-q'], broken((d) => (d.services['secrets-sidecar'].read_onyl = true)));
  t.not(badKey.status, 0);
  t.match(badKey.stderr, /read_onyl/);
});

t.test('the services keep the image\'s run rules', { skip: noCompose }, async (t) => {
  const m = model('vault');
  const agents = agentServices(m);
  t.equal(agents.length, 2, 'a sidecar for the file provider and one for Vault');
  for (const [name, s] of agents) {
    t.equal((s as Service & { build?: { target?: string } }).build?.target, 'runtime', `${name} builds the default image target`);
    t.equal(s.user, '65532:65532', `${name} runs as 65532`);
    t.equal(s.read_only, true, `${name} has a read-only root filesystem`);
    t.same(s.cap_drop, ['ALL'], `${name} drops all capabilities`);
    const out = mounts(s).find((v) => v.target === '/run/secrets/erlmcp');
    t.ok(out && !out.bind && !out.readOnly, `${name} writes to a named volume at /run/secrets/erlmcp`);
    const opts = m.volumes[out!.source]?.driver_opts;
    t.equal(opts?.type, 'tmpfs', `${name}'s output volume is a tmpfs`);
    t.match(opts?.o ?? '', /uid=65532,gid=65532,mode=0700/, `${name}'s output volume belongs to 65532 only`);
    const configPath = configOf(s);
    t.ok(mounts(s).some((v) => v.bind && v.readOnly && v.target === configPath), `${name}'s config ${configPath} is mounted read-only`);
    for (const v of mounts(s).filter((v) => v.bind)) t.ok(v.readOnly, `${name}: bind mount ${v.target} is read-only`);
  }

  for (const [name, s] of agents) {
    t.same(s.command?.slice(0, 1), ['run'], `${name} is a sidecar: it renders before it is ready, then keeps the files fresh`);
    t.equal(s.restart, 'unless-stopped', `${name} lives as long as the stack`);
    t.match(s.environment?.ERLMCP_SECRETS_HEALTH_URL ?? '', /\/readyz$/, `${name}'s health check asks /readyz: healthy means rendered`);
  }
  for (const [erlmcp, sidecar] of [['erlmcp', 'secrets-sidecar'], ['erlmcp-vault', 'secrets-sidecar-vault']] as const) {
    t.same(m.services[erlmcp]?.depends_on?.[sidecar], { condition: 'service_healthy' }, `${erlmcp} starts once ${sidecar} has rendered`);
    t.ok(mounts(m.services[erlmcp]!).find((v) => v.target === '/run/secrets/erlmcp')?.readOnly, `${erlmcp} mounts the secrets read-only`);
  }
  t.same(m.services['secrets-sidecar-vault']?.depends_on?.['vault-seed'], { condition: 'service_completed_successfully' }, 'the Vault sidecar waits for the seed');
  t.same(m.services['vault-seed']?.depends_on?.vault, { condition: 'service_healthy' });
  for (const [name, s] of Object.entries(m.services).filter(([, s]) => s.restart === 'no')) {
    // docker-compose 1.x writes `disable: true` as the engine's test: [NONE]
    t.ok(s.healthcheck?.disable === true || s.healthcheck?.test?.[0] === 'NONE', `one-shot ${name} has no health check to go "unhealthy" after it exited 0`);
  }

  // the tmpfs rule: a tmpfs volume keeps its files only while a container
  // has it mounted, so each one is mounted by a long-lived service that every
  // other user of it waits for (directly or not)
  const dependsOn = (name: string, seen = new Set<string>()): Set<string> => {
    for (const d of [...Object.keys(m.services[name]?.depends_on ?? {}), ...networkOwner(m.services[name]!)]) {
      if (!seen.has(d)) (seen.add(d), dependsOn(d, seen));
    }
    return seen;
  };
  for (const [volume, def] of Object.entries(m.volumes).filter(([, v]) => v.driver_opts?.type === 'tmpfs')) {
    const users = Object.entries(m.services).filter(([, s]) => mounts(s).some((v) => v.source === volume)).map(([n]) => n);
    const holders = users.filter((n) => m.services[n]!.restart === 'unless-stopped' && users.every((u) => u === n || dependsOn(u).has(n)));
    t.ok(holders.length > 0, `tmpfs volume ${volume} (${def.driver_opts?.o}) is held by a long-lived service that ${users.join(', ')} wait for`);
  }
  // networking as in a pod: one namespace per stack, its owner started first and long-lived
  for (const [name, s] of Object.entries(m.services)) {
    for (const owner of networkOwner(s)) {
      t.equal(m.services[owner]?.restart, 'unless-stopped', `${name} joins the network namespace of long-lived ${owner}`);
      t.ok(dependsOn(name).has(owner), `${name} starts after ${owner}`);
    }
  }
  t.equal(m.services.erlmcp?.network_mode, 'service:secrets-sidecar', 'erlmcp shares the sidecar\'s network namespace: the erlang notifier reaches erlmcp@127.0.0.1');
  for (const name of ['vault-seed', 'secrets-sidecar-vault', 'erlmcp-vault']) t.equal(m.services[name]?.network_mode, 'service:vault', `${name} reaches Vault at 127.0.0.1`);
  t.match((parseYaml(readFileSync(path.join(COMPOSE_DIR, 'agent.vault.yaml'), 'utf8')) as { providers: { vault: { address: string } } }).providers.vault.address, /^http:\/\/127\.0\.0\.1:8200$/);

  const vault = m.services.vault as Service & { command: string[] };
  t.ok(vault.command.includes('-dev') && vault.command.some((a) => a.startsWith('-dev-root-token-id=')), 'Vault runs as a dev server with a known root token');
  for (const name of ['vault', 'vault-seed', 'erlmcp-vault', 'secrets-sidecar-vault']) {
    t.same(rawModel().services[name]?.profiles, ['vault'], `${name} is in the vault profile only`);
  }
});

t.test('the Vault seed writes the paths the Vault config reads', async (t) => {
  const seed = readFileSync(path.join(COMPOSE_DIR, 'vault/seed.sh'), 'utf8');
  const policy = readFileSync(path.join(COMPOSE_DIR, 'vault/erlmcp-policy.hcl'), 'utf8');
  const config = parseYaml(readFileSync(path.join(COMPOSE_DIR, 'agent.vault.yaml'), 'utf8')) as { secrets: Record<string, { path: string }> };
  const paths = Object.values(config.secrets).map((s) => s.path);
  t.ok(paths.includes('secret/data/database/erlmcp') && paths.includes('secret/data/erlang/cookie') && paths.includes('secret/data/auth/jwt'), 'erlmcp\'s paths');
  for (const p of paths) {
    const logical = p.replace(/^secret\/data\//, 'secret/');
    t.match(seed, new RegExp(`vault kv put ${logical} `), `seed.sh writes ${logical}`);
    const covered = [...policy.matchAll(/path "([^"]+)"/g)].map((x) => x[1]!).some((pat) => (pat.endsWith('*') ? p.startsWith(pat.slice(0, -1)) : pat === p));
    t.ok(covered, `the erlmcp policy lets the agent read ${p}`);
  }
  const sh = spawnSync('sh', ['-n', path.join(COMPOSE_DIR, 'vault/seed.sh')], { encoding: 'utf8' });
  t.equal(sh.status, 0, `seed.sh parses${failure(sh)}`);
});

t.test('every agent config under examples/compose passes check in its mounted layout', { skip: noCompose }, async (t) => {
  const m = model('vault');
  const configs = readdirSync(COMPOSE_DIR).filter((f) => /\.(ya?ml|json)$/.test(f) && f !== 'docker-compose.yml');
  t.ok(configs.length >= 2, `configs found: ${configs.join(', ')}`);
  const checked = new Set<string>();
  for (const [name, s] of agentServices(m)) {
    const root = materialize(t, s);
    const config = path.join(root, configOf(s));
    const r = runAgent(['check', '-c', config]);
    t.equal(r.status, 0, `${name}: check ${configOf(s)}${failure(r)}`);
    t.match(r.stdout, /ok: 1 provider, 4 secrets, 4 templates, 1 reload notifier/);
    const source = mounts(s).find((v) => v.target === configOf(s))!.source;
    checked.add(path.basename(source));
  }
  t.same([...checked].sort(), configs.sort(), 'each config file is used by a service, so none goes unchecked');
});

t.test('the file-provider config renders what the Erlang stand-in reads', { skip: noErlc }, async (t) => {
  // the sidecar's first render is init's
  const sidecar = rawModel().services['secrets-sidecar']!;
  // the raw service: bind sources relative to the compose dir
  const s: Service = { ...sidecar, volumes: (sidecar.volumes ?? []).map((v) => (v.startsWith('.') ? `${path.resolve(COMPOSE_DIR, v.split(':')[0]!)}:${v.split(':').slice(1).join(':')}` : v)) };
  const root = materialize(t, s);
  const out = path.join(root, 'run/secrets/erlmcp');
  mkdirSync(out, { recursive: true });
  // the same config with the volume's path inside the temp root
  const configFile = path.join(root, configOf(s));
  const config = parseYaml(readFileSync(configFile, 'utf8'));
  config.output.root = out;
  writeFileSync(configFile, stringifyYaml(config));
  const r = runAgent(['init', '-c', configFile]);
  t.equal(r.status, 0, `init${failure(r)}`);
  t.same(readdirSync(out).sort(), ['erlang.cookie', 'erlmcp.env', 'sys.config', 'vm.args']);

  const ebin = path.join(root, 'ebin');
  mkdirSync(ebin);
  const erlc = spawnSync('erlc', ['-o', ebin, path.join(COMPOSE_DIR, 'erlmcp-standin/erlmcp_config.erl')], { encoding: 'utf8' });
  t.equal(erlc.status, 0, `the stand-in compiles${failure(erlc)}`);
  const erl = spawnSync('erl', ['-noshell', '-pa', ebin, '-eval', 'erlmcp_config:start(), ok = erlmcp_config:reload(), halt().'], {
    encoding: 'utf8',
    env: { ...process.env, ERLMCP_SECRETS_DIR: out },
    timeout: 60_000,
  });
  t.equal(erl.status, 0, `the stand-in runs${failure(erl)}`);
  t.match(erl.stdout, /started on .*: 10 env variables \(ERLMCP_JWT_SECRET, ERLMCP_COOKIE, ERLMCP_DB_HOST/);
  t.match(erl.stdout, /sys\.config erlmcp keys \[database,redis,jwt_secret\], cookie of \d+ bytes/);
  t.match(erl.stdout, /reloaded on /);
  // the stand-in names settings, never values (dev-secrets' values are the canaries here)
  const devDb = parseYaml(readFileSync(path.join(ROOT, 'examples/local/dev-secrets/db.yaml'), 'utf8')) as { password: string };
  const cookie = readFileSync(path.join(ROOT, 'examples/local/dev-secrets/cookie/value'), 'utf8').trim();
  t.notOk(erl.stdout.includes(devDb.password) || erl.stdout.includes(cookie), 'the stand-in prints no secret value');
});

t.test('the sidecar re-renders a changed secret and reloads the stand-in over Erlang distribution', { skip: noErlc }, async (t) => {
  const sidecar = rawModel().services['secrets-sidecar']!;
  const s: Service = { ...sidecar, volumes: (sidecar.volumes ?? []).map((v) => (v.startsWith('.') ? `${path.resolve(COMPOSE_DIR, v.split(':')[0]!)}:${v.split(':').slice(1).join(':')}` : v)) };
  const root = materialize(t, s);
  const out = path.join(root, 'run/secrets/erlmcp');
  mkdirSync(out, { recursive: true });
  const epmdPort = await freePort();
  const port = await freePort();

  // the compose config, with the volume inside the temp root, a private EPMD and a free port
  const configFile = path.join(root, configOf(s));
  const config = parseYaml(readFileSync(configFile, 'utf8'));
  config.output.root = out;
  config.reload[0].cookieFile = path.join(out, 'erlang.cookie');
  config.reload[0].epmdPort = epmdPort;
  config.server.listen = `127.0.0.1:${port}`;
  config.refresh.interval = '1s';
  writeFileSync(configFile, stringifyYaml(config));

  // secrets-sidecar first: ready means rendered (erlmcp waits for service_healthy)
  const agent = spawn(NODE24, [bundlePath(), 'run', '-c', configFile], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'ignore', 'pipe'] });
  let agentLog = '';
  agent.stderr.setEncoding('utf8').on('data', (d: string) => (agentLog += d));
  let agentExited = false;
  const agentExit = new Promise<number | null>((resolve) => agent.on('close', (code) => ((agentExited = true), resolve(code))));
  t.teardown(() => agent.kill('SIGKILL'));
  await waitFor(async () => {
    if (agentExited) throw new Error(`the sidecar exited before it was ready:\n${agentLog}`);
    return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200;
  }, () => `the sidecar to be ready\n${agentLog}`);

  t.same(readdirSync(out).sort(), ['erlang.cookie', 'erlmcp.env', 'sys.config', 'vm.args'], 'ready: every file is rendered before erlmcp starts');

  // then erlmcp (the stand-in, its cookie from the files the sidecar rendered)
  const ebin = path.join(root, 'ebin');
  mkdirSync(ebin);
  t.equal(spawnSync('erlc', ['-o', ebin, path.join(COMPOSE_DIR, 'erlmcp-standin/erlmcp_config.erl')]).status, 0);
  // the compose command: the cookie comes only from the rendered vm.args
  // (a second -setcookie would make the node pick neither); a private EPMD
  const erl = spawn('erl', ['-noshell', '-name', 'erlmcp@127.0.0.1', '-args_file', path.join(out, 'vm.args'), '-kernel', 'inet_dist_use_interface', '{127,0,0,1}', '-pa', ebin, '-s', 'erlmcp_config', 'start'], {
    env: { PATH: process.env.PATH, HOME: root, ERLMCP_SECRETS_DIR: out, ERL_EPMD_PORT: String(epmdPort), ERL_EPMD_ADDRESS: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let erlOut = '';
  erl.stdout.setEncoding('utf8').on('data', (d: string) => (erlOut += d));
  erl.stderr.setEncoding('utf8').on('data', (d: string) => (erlOut += d));
  const erlExit = new Promise((resolve) => erl.on('close', resolve));
  t.teardown(async () => {
    erl.kill('SIGKILL');
    await erlExit;
    spawnSync('epmd', ['-port', String(epmdPort), '-kill'], { stdio: 'ignore' });
  });
  const erlmcp = { output: () => erlOut };
  await waitFor(() => /stand-in started/.test(erlmcp.output()), 'the stand-in to start');

  const rotated = 'rotated-jwt-secret-CanaryZ9y8x7w6v5u4t3s2r1q0';
  writeFileSync(path.join(root, 'etc/erlmcp-secrets/dev-secrets/jwt.env'), `secret="${rotated}"\n`);
  await waitFor(() => /stand-in reloaded/.test(erlmcp.output()), () => `the stand-in to be reloaded\n${agentLog}\n${erlmcp.output()}`);
  t.match(erlmcp.output(), /stand-in reloaded on erlmcp@127\.0\.0\.1: 10 env variables/, 'erlmcp_config:reload() ran on the node');
  t.ok(readFileSync(path.join(out, 'erlmcp.env'), 'utf8').includes(rotated), 'erlmcp.env holds the new secret');
  t.notOk(agentLog.includes(rotated) || erlmcp.output().includes(rotated), 'the new value appears in no log');

  agent.kill('SIGTERM');
  t.equal(await agentExit, 0, 'the sidecar stops on SIGTERM');
});

/** what: a function, so the message can show output gathered while waiting */
async function waitFor(cond: () => boolean | Promise<boolean>, what: string | (() => string), timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
