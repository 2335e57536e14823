// The image and docker compose on a real Docker engine (the proof the checks
// without an engine in test/image/ cannot give). One file, run in order,
// because it shares one engine it may have to start:
//
// 1. the engine: the running one, or dockerd started here (and stopped
//    again); a machine where it cannot start FAILS, naming the fix
// 2. the stand-in base images (test/setup/install-container-standins.sh),
//    imported once per recipe
// 3. both targets built with only the base-image build args changed
// 4. each image run as Kubernetes runs it (read-only root, uid 65532, all
//    capabilities dropped, no new privileges, tmpfs output): `init`, `exec`,
//    `run` with its probes, the files' modes and owner, `docker stop` exit 0,
//    the cgroup's memory after 60 s idle (reported)
// 5. examples/compose `up -d` exactly as the README says, in both profiles:
//    the node boots with the rendered cookie, a changed dev secret (and a
//    `vault kv put`) reaches it, `down -v` leaves nothing behind
//
// Measured figures go to the TAP output as comments (`# measured: ...`).

import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { requireEngine, type Engine, type Run } from '../helpers/docker-engine.ts';
import { importStandins, type Standins } from '../helpers/container-standins.ts';
// @ts-expect-error: a plain .mjs module (install.sh runs it before npm ci)
import { collect, imageGarbage, imageNodes, CONTEXT_LABEL } from '../setup/docker-gc.mjs';
import { freePort } from '../helpers/erlang-node.ts';
import { ROOT } from '../helpers/image-sandbox.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { cgroupMemory, formatMiB, type CgroupMemory } from '../helpers/cgroup-memory.ts';
import { DEFAULT_RESOURCES } from '../../agent/webhook/webhook-config.ts';

// a cold run builds both images on vfs storage; later runs hit the layer cache
t.setTimeout(60 * 60_000);

const RUNTIME_TAG = 'erlmcp-secrets:test-runtime';
const BINARY_TAG = 'erlmcp-secrets:test-binary';
const IDLE_MS = 60_000;
const IMAGE_UID = '65532';
/** how Kubernetes runs the agent with the pod spec of docs/kubernetes.md */
const AS_KUBERNETES = ['--read-only', '--user', `${IMAGE_UID}:${IMAGE_UID}`, '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges'];

interface Target {
  name: 'runtime' | 'runtime-binary';
  tag: string;
  /** argv that runs the agent itself inside the image (exec's child) */
  self: string[];
}
const TARGETS: Target[] = [
  { name: 'runtime', tag: RUNTIME_TAG, self: ['/nodejs/bin/node', '/app/erlmcp-secrets.js'] },
  { name: 'runtime-binary', tag: BINARY_TAG, self: ['/usr/local/bin/erlmcp-secrets'] },
];

let engine: Engine;
let standins: Standins;
const measured: string[] = [];
const note = (t: Test, line: string): void => {
  measured.push(line);
  t.comment(`measured: ${line}`);
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function waitFor(what: () => string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what()}`);
    await sleep(250);
  }
}
const failure = (r: Run): string => (r.status === 0 ? '' : `\n${r.stdout.slice(-3000)}${r.stderr.slice(-3000)}`);

t.before(async () => {
  engine = await requireEngine(t);
  standins = importStandins(engine);
});

/** a hash of what a build reads: the context the .dockerignore lets through (a superset), the build args, the target */
function contextHash(target: string): string {
  const h = createHash('sha256');
  const walk = (rel: string): void => {
    const abs = path.join(ROOT, rel);
    if (!existsSync(abs)) return;
    if (statSync(abs).isDirectory()) {
      for (const f of readdirSync(abs).sort()) walk(path.join(rel, f));
    } else {
      h.update(`${rel}\0`).update(readFileSync(abs)).update('\0');
    }
  };
  for (const p of ['Dockerfile', '.dockerignore', 'package.json', 'package-lock.json', 'tsconfig.json', 'agent', 'image', 'templates', 'examples/local']) walk(p);
  return h.update(JSON.stringify([standins.buildArgs, target])).digest('hex').slice(0, 16);
}

/**
 * The stages whose layers outlive a change to the agent's code, built and
 * tagged before the targets: a tag keeps them (npm ci's layer above all) as
 * the next build's cache, where untagged they would be what the storage
 * collection removes. The warm stage is not among them: it holds the bundle,
 * so any rebuild makes it anew, and tagging it would cost a build of its own
 * (on vfs each cached `COPY --from=build` still copies the whole build stage,
 * about 40 s).
 */
const STAGES = ['beam', 'build'];
const stageTag = (stage: string): string => `erlmcp-secrets:test-stage-${stage}`;

/** the images nothing needs any more: the collection's own rule, on the engine's images now */
const unusedImages = (): string[] => (imageGarbage(imageNodes(), new Set(standins.tags)) as { remove: string[] }).remove;

t.test('both targets build with only the base-image args changed', async (t) => {
  // what earlier runs left goes before this one builds (see test/setup/docker-gc.mjs)
  const before = collect(new Set(standins.tags));
  note(t, `before the builds, ${before.line}`);
  t.same(before.refused, [], 'the collection before the builds removed everything it meant to');
  // the legacy builder, whatever the CLI's default: its layers are images, which the collection knows how to free
  const build = (args: string[]): Run =>
    engine.docker(['build', '--force-rm', '--network', 'host', ...standins.buildArgs, '--build-arg', 'VERSION=0.1.0-test', ...args, '.'], {
      cwd: ROOT,
      timeoutMs: 50 * 60_000,
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
    });
  // vfs storage copies every layer: an image built from the very same
  // inputs by an earlier run is reused (its build was checked then)
  const hashes = new Map(TARGETS.map((target) => [target, contextHash(target.name)]));
  const stale = TARGETS.filter((target) => {
    const built = engine.docker(['image', 'inspect', '-f', `{{index .Config.Labels "${CONTEXT_LABEL}"}}`, target.tag]).stdout.trim();
    return built !== hashes.get(target);
  });
  for (const target of TARGETS.filter((x) => !stale.includes(x))) {
    t.pass(`${target.tag} was built from these same inputs (context ${hashes.get(target)}): reused`);
    note(t, `docker build --target ${target.name}: reused (same inputs)`);
  }
  if (stale.length > 0) {
    for (const stage of STAGES) {
      const started = Date.now();
      const r = build(['--target', stage, '-t', stageTag(stage)]);
      t.equal(r.status, 0, `docker build --target ${stage}${failure(r)}`);
      note(t, `docker build --target ${stage}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
  }
  for (const target of stale) {
    const started = Date.now();
    const r = build(['--label', `${CONTEXT_LABEL}=${hashes.get(target)}`, '--target', target.name, '-t', target.tag]);
    t.equal(r.status, 0, `docker build --target ${target.name}${failure(r)}`);
    note(t, `docker build --target ${target.name}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  const dockerfileStages = [...readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').matchAll(/^FROM\s+\S+\s+AS\s+(\S+)\s*$/gim)].map((m) => m[1]);
  t.ok(STAGES.every((stage) => dockerfileStages.includes(stage)), `the stages tagged for the cache are the Dockerfile's: ${STAGES.join(', ')} of ${dockerfileStages.join(', ')}`);
  // the images these builds replaced go now, not when the disk is full
  const gc = collect(new Set(standins.tags));
  note(t, `after the builds, ${gc.line}`);
  t.same(gc.refused, [], 'the collection removed everything it meant to');
  t.same(unusedImages(), [], 'no image of an earlier build is left on the engine');
  const labels = (tag: string): Record<string, string> => JSON.parse(engine.must(['image', 'inspect', '-f', '{{json .Config.Labels}}', tag]));
  t.equal(labels(RUNTIME_TAG)['org.opencontainers.image.base.name'], standins.nodejs, 'runtime: base.name names the base really used');
  t.equal(labels(BINARY_TAG)['org.opencontainers.image.base.name'], standins.cc, 'runtime-binary: base.name names the base really used');
  t.equal(labels(RUNTIME_TAG)['org.opencontainers.image.version'], '0.1.0-test');
  const size = (tag: string): number => Number(engine.must(['image', 'inspect', '-f', '{{.Size}}', tag]));
  for (const [target, base] of [[TARGETS[0]!, standins.nodejs], [TARGETS[1]!, standins.cc]] as const) {
    note(t, `${target.name} image: ${formatMiB(size(target.tag))} on disk, ${formatMiB(size(target.tag) - size(base))} on top of its base (${formatMiB(size(base))})`);
  }
  // the code cache: root-owned, not writable by the image user, readable by it
  const cache = engine.must(['run', '--rm', ...AS_KUBERNETES, '--network', 'none', '--entrypoint', '/nodejs/bin/node', RUNTIME_TAG, '-e',
    "const fs=require('fs');const d='/app/code-cache';const s=(p)=>{const x=fs.statSync(p);return [x.uid,(x.mode&0o777).toString(8)].join(':')};console.log(JSON.stringify({dir:s(d),files:[...new Set(fs.readdirSync(d).map((f)=>s(d+'/'+f)))],readable:fs.readdirSync(d).every((f)=>fs.readFileSync(d+'/'+f).length>0),count:fs.readdirSync(d).length}))"]);
  t.same(JSON.parse(cache), { dir: '0:755', files: ['0:444'], readable: true, count: JSON.parse(cache).count }, 'the code cache is root-owned, 0444, readable by 65532');
  t.ok(JSON.parse(cache).count >= 3, 'the warm-up filled the code cache');
});

/** the etc folder the images get: examples/compose's config, templates and dev secrets, with server.listen on port */
function etcFor(t: Test, port: number): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'erlmcp-engine-etc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = parseYaml(readFileSync(path.join(ROOT, 'examples/compose/agent.yaml'), 'utf8'));
  config.server.listen = `127.0.0.1:${port}`;
  writeFileSync(path.join(dir, 'agent.yaml'), stringifyYaml(config));
  cpSync(path.join(ROOT, 'templates'), path.join(dir, 'templates'), { recursive: true });
  cpSync(path.join(ROOT, 'examples/local/dev-secrets'), path.join(dir, 'dev-secrets'), { recursive: true });
  // world-readable, as a ConfigMap/Secret mount is for the pod's user
  engineless('chmod', ['-R', 'a+rX', dir]);
  return dir;
}
/** a host command that must succeed */
function engineless(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

/** a tmpfs volume like emptyDir(medium: Memory), and a root container holding it so its files can be inspected */
function tmpfsWithInspector(t: Test, label: string): { volume: string; stat: () => string[] } {
  const volume = `erlmcp-engine-${label}-${process.pid}`;
  engine.must(['volume', 'create', '--driver', 'local', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', `o=size=1m,uid=${IMAGE_UID},gid=${IMAGE_UID},mode=0700`, volume]);
  const holder = `${volume}-inspector`;
  engine.must(['run', '-d', '--name', holder, '--network', 'none', '-v', `${volume}:/out:ro`, standins.erlang, 'sleep', '3600']);
  t.teardown(() => {
    engine.docker(['rm', '-f', holder]);
    engine.docker(['volume', 'rm', '-f', volume]);
  });
  return {
    volume,
    stat: () => engine.must(['exec', holder, 'sh', '-c', 'cd /out && stat -c "%a %u:%g %n" * | sort']).trim().split('\n'),
  };
}

/** what `docker diff` lists beyond the mount points the engine itself created (and their parents) */
function writtenOutsideMounts(container: string): string[] {
  const targets = (JSON.parse(engine.must(['inspect', '-f', '{{json .Mounts}}', container])) as Array<{ Destination: string }>).map((m) => m.Destination);
  // the engine bind-mounts these itself (not listed in .Mounts)
  targets.push('/etc/hosts', '/etc/hostname', '/etc/resolv.conf');
  const isMountPath = (p: string): boolean => targets.some((d) => d === p || d.startsWith(`${p}/`));
  return engine.must(['diff', container]).split('\n').filter((l) => l.trim() !== '').filter((l) => !isMountPath(l.slice(2)));
}

const RENDERED = ['400 65532:65532 erlang.cookie', '400 65532:65532 erlmcp.env', '400 65532:65532 sys.config', '400 65532:65532 vm.args'];

for (const target of TARGETS) {
  t.test(`${target.name}: init and exec as Kubernetes runs them`, async (t) => {
    const etc = etcFor(t, await freePort());
    const out = tmpfsWithInspector(t, `${target.name}-init`);
    const mounts = ['-v', `${etc}:/etc/erlmcp-secrets:ro`, '-v', `${out.volume}:/run/secrets/erlmcp`];
    const name = `erlmcp-engine-init-${target.name}-${process.pid}`;
    t.teardown(() => engine.docker(['rm', '-f', name]));
    // a one-shot run goes without the image's HEALTHCHECK (docs/containers.md):
    // docker reports any exited container that has one as "unhealthy"
    const init = engine.docker(['run', '--name', name, '--no-healthcheck', ...AS_KUBERNETES, '--network', 'none', ...mounts, target.tag, 'init', '-c', '/etc/erlmcp-secrets/agent.yaml']);
    t.equal(init.status, 0, `init exits 0${failure(init)}`);
    t.same(out.stat(), RENDERED, 'every file 0400, owned by 65532, in the tmpfs');
    t.same(writtenOutsideMounts(name), [], 'nothing written outside the volume');
    const health = engine.must(['inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}', name]).trim();
    t.equal(health, 'none', 'the one-shot init has no health to report once it exited 0');

    const execOut = tmpfsWithInspector(t, `${target.name}-exec`);
    const exec = engine.docker(['run', '--rm', ...AS_KUBERNETES, '--network', 'none', '-v', `${etc}:/etc/erlmcp-secrets:ro`, '-v', `${execOut.volume}:/run/secrets/erlmcp`, target.tag, 'exec', '-c', '/etc/erlmcp-secrets/agent.yaml', '--', ...target.self, 'version']);
    t.equal(exec.status, 0, `exec runs its child and exits with its code${failure(exec)}`);
    t.match(exec.stdout, /\d+\.\d+\.\d+/, 'the child (the agent\'s own `version`) ran');
    t.same(execOut.stat(), RENDERED, 'exec rendered the files first');
    const devValues = [readFileSync(path.join(etc, 'dev-secrets/cookie/value'), 'utf8').trim()];
    assertNoLeak(t, [init.stdout, init.stderr, exec.stdout, exec.stderr], devValues);
  });
}

t.test('runtime-binary: copy-self (the copy container of exec mode) under the memory limit the webhook injects', async (t) => {
  const limit = DEFAULT_RESOURCES.limits.memory; // '128Mi'
  const bin = mkdtempSync(path.join(tmpdir(), 'erlmcp-engine-bin-'));
  t.teardown(() => rmSync(bin, { recursive: true, force: true }));
  chownSync(bin, Number(IMAGE_UID), Number(IMAGE_UID));
  // an emptyDir on disk, as the webhook makes it (a tmpfs would be charged to the container)
  const copy = engine.docker(['run', '--rm', '--no-healthcheck', ...AS_KUBERNETES, '--network', 'none', '--memory', limit.replace(/Mi$/, 'm'), '--memory-swap', limit.replace(/Mi$/, 'm'), '-v', `${bin}:/erlmcp-secrets/bin`, BINARY_TAG, 'copy-self', '/erlmcp-secrets/bin/erlmcp-secrets']);
  t.equal(copy.status, 0, `copy-self exits 0 under a ${limit} limit (137 would be the OOM killer)${failure(copy)}`);
  const copied = path.join(bin, 'erlmcp-secrets');
  t.equal(statSync(copied).mode & 0o777, 0o755, 'the copy is executable');
  const version = engine.docker(['run', '--rm', '--no-healthcheck', ...AS_KUBERNETES, '--network', 'none', '-v', `${bin}:/erlmcp-secrets/bin:ro`, '--entrypoint', '/erlmcp-secrets/bin/erlmcp-secrets', BINARY_TAG, 'version']);
  t.equal(version.status, 0, `the copied binary runs${failure(version)}`);
  t.match(version.stdout, /\d+\.\d+\.\d+/);
});

t.test('run (the sidecar) in both images at once: probes, uid, capabilities, memory after 60 s idle, docker stop', async (t) => {
  interface Running {
    target: Target;
    name: string;
    port: number;
    out: ReturnType<typeof tmpfsWithInspector>;
    readyMs: number;
  }
  const running: Running[] = [];
  for (const target of TARGETS) {
    const port = await freePort();
    const etc = etcFor(t, port);
    const out = tmpfsWithInspector(t, `${target.name}-run`);
    const name = `erlmcp-engine-run-${target.name}-${process.pid}`;
    t.teardown(() => engine.docker(['rm', '-f', name]));
    const started = Date.now();
    // host network: the probes reach 127.0.0.1:port as the kubelet reaches the pod
    engine.must(['run', '-d', '--name', name, ...AS_KUBERNETES, '--network', 'host', '-v', `${etc}:/etc/erlmcp-secrets:ro`, '-v', `${out.volume}:/run/secrets/erlmcp`, target.tag]);
    const get = async (p: string): Promise<number | undefined> => (await fetch(`http://127.0.0.1:${port}${p}`).catch(() => undefined))?.status;
    await waitFor(() => `${target.name} /readyz\n${engine.docker(['logs', name]).stderr.slice(-3000)}`, async () => (await get('/readyz')) === 200, 60_000);
    running.push({ target, name, port, out, readyMs: Date.now() - started });
    t.equal(await get('/healthz'), 200, `${target.name}: /healthz 200`);
  }
  for (const r of running) {
    note(t, `${r.target.name}: docker run -d to /readyz 200 in ${r.readyMs} ms (includes the engine's container start)`);
    t.same(r.out.stat(), RENDERED, `${r.target.name}: files 0400, owned by 65532`);
    const pid = engine.must(['inspect', '-f', '{{.State.Pid}}', r.name]).trim();
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    t.match(status, new RegExp(`^Uid:\\s+${IMAGE_UID}\\s+${IMAGE_UID}\\s+${IMAGE_UID}\\s+${IMAGE_UID}$`, 'm'), `${r.target.name}: runs as uid 65532`);
    t.match(status, /^CapEff:\s+0+$/m, `${r.target.name}: no effective capabilities`);
    t.match(status, /^CapBnd:\s+0+$/m, `${r.target.name}: an empty bounding set`);
    t.match(status, /^NoNewPrivs:\s+1$/m, `${r.target.name}: no new privileges`);
    t.equal(engine.must(['inspect', '-f', '{{.HostConfig.ReadonlyRootfs}}', r.name]).trim(), 'true', `${r.target.name}: read-only root`);
  }
  await sleep(IDLE_MS);
  const memory: Array<[Running, CgroupMemory]> = running.map((r) => [r, cgroupMemory(Number(engine.must(['inspect', '-f', '{{.State.Pid}}', r.name]).trim()))]);
  for (const [r, m] of memory) {
    note(t, `${r.target.name} sidecar after ${IDLE_MS / 1000} s idle, its cgroup: usage ${formatMiB(m.usage)} (rss ${formatMiB(m.rss)}, page cache ${formatMiB(m.cache)}, mapped files ${formatMiB(m.mappedFile)}), working set ${formatMiB(m.workingSet)}; process VmRSS ${formatMiB(m.vmRss)}`);
    t.ok(m.usage > 0 && m.rss > 0, `${r.target.name}: the cgroup's memory was read`);
    for (const p of ['/healthz', '/readyz']) t.equal((await fetch(`http://127.0.0.1:${r.port}${p}`)).status, 200, `${r.target.name}: ${p} still 200 after idling`);
  }
  for (const r of running) {
    engine.must(['stop', '-t', '20', r.name], { timeoutMs: 60_000 });
    t.equal(engine.must(['inspect', '-f', '{{.State.ExitCode}}', r.name]).trim(), '0', `${r.target.name}: docker stop -> exit 0`);
    t.same(writtenOutsideMounts(r.name), [], `${r.target.name}: nothing written outside the volume`);
  }
});

// --- docker compose -----------------------------------------------------------

/** `docker compose` (the v2 plugin) when the CLI has it, else docker-compose (1.29, Debian) */
function composeCommand(): string[] {
  return engine.docker(['compose', 'version']).status === 0 ? ['docker', 'compose'] : ['docker-compose'];
}

interface ComposeStack {
  dir: string;
  env: NodeJS.ProcessEnv;
  project: string;
  /** the README's command line, e.g. compose(['up', '-d']) for `docker compose up -d` */
  compose(args: string[], timeoutMs?: number): Run;
  logs(service: string): string;
  /** a shell command in a service's container */
  exec(service: string, script: string): Run;
}

/** a copy of the repository layout examples/compose expects (its ../local/dev-secrets and ../../templates), so a rotation edits no file of the checkout */
function composeStack(t: Test, label: string): ComposeStack {
  const root = mkdtempSync(path.join(tmpdir(), `erlmcp-compose-${label}-`));
  for (const p of ['examples/compose', 'examples/local/dev-secrets', 'templates']) cpSync(path.join(ROOT, p), path.join(root, p), { recursive: true });
  engineless('chmod', ['-R', 'a+rX', root]);
  const dir = path.join(root, 'examples/compose');
  const project = `erlmcp-test-${label}-${process.pid}`;
  const env = {
    ...process.env,
    COMPOSE_PROJECT_NAME: project,
    ERLMCP_SECRETS_IMAGE: RUNTIME_TAG,
    ERLANG_IMAGE: standins.erlang,
    VAULT_IMAGE: standins.vault,
  };
  const [cmd, ...pre] = composeCommand();
  const run = (args: string[], timeoutMs = 300_000): Run => {
    const r = spawnSync(cmd!, [...pre, ...args], { cwd: dir, env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return { status: r.status, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? `\n(${r.error.message})` : ''}` };
  };
  t.teardown(() => {
    run(['--profile', 'vault', 'down', '-v', '--timeout', '5']);
    rmSync(root, { recursive: true, force: true });
  });
  return {
    dir,
    env,
    project,
    compose: run,
    logs: (service) => {
      const r = run(['logs', '--no-color', service]);
      return r.stdout + r.stderr;
    },
    exec: (service, script) => run(['exec', '-T', service, 'sh', '-c', script]),
  };
}

/** what the engine still has of a project: containers, volumes, networks */
function leftovers(project: string): string[] {
  const filter = ['--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Names}}'];
  return [
    ...engine.must(['ps', '-a', ...filter]).split('\n'),
    ...engine.must(['volume', 'ls', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Name}}']).split('\n'),
    ...engine.must(['network', 'ls', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Name}}']).split('\n'),
  ].filter((l) => l.trim() !== '');
}

/** the node erlmcp@127.0.0.1 answers a ping with the rendered cookie, and refuses a wrong one */
function cookieProbe(t: Test, stack: ComposeStack, service: string): void {
  const ping = (cookie: string): Run =>
    stack.exec(service, `erl -noshell -hidden -name probe$$@127.0.0.1 -setcookie ${cookie} -eval 'io:format("~p~n", [net_adm:ping(list_to_atom("erlmcp@127.0.0.1"))]), halt().'`);
  const right = ping('"$(cat /run/secrets/erlmcp/erlang.cookie)"');
  t.match(right.stdout, /^pong$/m, `${service}: the node runs with the rendered cookie${failure(right)}`);
  const wrong = ping('not-the-cookie-0123456789');
  t.match(wrong.stdout, /^pang$/m, `${service}: a wrong cookie is refused (the probe is real)`);
}

t.test('compose, file provider: `docker compose up -d` as the README says', async (t) => {
  const stack = composeStack(t, 'file');
  const started = Date.now();
  const up = stack.compose(['up', '-d']);
  t.equal(up.status, 0, `docker compose up -d${failure(up)}`);
  await waitFor(() => `erlmcp to start\n${stack.logs('erlmcp')}\n${stack.logs('secrets-sidecar')}`, () => /stand-in started on erlmcp@127\.0\.0\.1: 10 env variables/.test(stack.logs('erlmcp')), 120_000);
  note(t, `compose (file provider): up -d to the node started in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  t.notMatch(stack.logs('erlmcp'), /cannot read the rendered secrets|vm\.args missing/i, 'erlmcp found every file');
  t.match(stack.logs('erlmcp'), /cookie of \d+ bytes/);
  cookieProbe(t, stack, 'erlmcp');

  // a rotation: the sidecar re-renders and calls erlmcp_config:reload() on the node
  const rotated = `rotated-jwt-secret-Canary${Date.now()}Zy9x8w7v6u5t4`;
  writeFileSync(path.join(stack.dir, '../local/dev-secrets/jwt.env'), `secret="${rotated}"\n`);
  await waitFor(() => `the reload to reach the node\n${stack.logs('secrets-sidecar')}\n${stack.logs('erlmcp')}`, () => /stand-in reloaded on erlmcp@127\.0\.0\.1/.test(stack.logs('erlmcp')), 120_000);
  const seen = stack.exec('erlmcp', `grep -c '${rotated}' /run/secrets/erlmcp/erlmcp.env`);
  t.equal(seen.stdout.trim(), '1', `the node's erlmcp.env holds the new value${failure(seen)}`);
  const devCookie = readFileSync(path.join(stack.dir, '../local/dev-secrets/cookie/value'), 'utf8').trim();
  assertNoLeak(t, [stack.logs('erlmcp'), stack.logs('secrets-sidecar'), up.stdout, up.stderr], [rotated, devCookie]);

  const down = stack.compose(['down', '-v']);
  t.equal(down.status, 0, `docker compose down -v${failure(down)}`);
  t.same(leftovers(stack.project), [], 'nothing of the project is left: containers, volumes, networks');
});

t.test('compose, vault profile: `docker compose --profile vault up -d` as the README says', async (t) => {
  const stack = composeStack(t, 'vault');
  const started = Date.now();
  const up = stack.compose(['--profile', 'vault', 'up', '-d']);
  t.equal(up.status, 0, `docker compose --profile vault up -d${failure(up)}`);
  await waitFor(() => `erlmcp-vault to start\n${stack.logs('vault-seed')}\n${stack.logs('secrets-sidecar-vault')}\n${stack.logs('erlmcp-vault')}`, () => /stand-in started on erlmcp@127\.0\.0\.1: 10 env variables/.test(stack.logs('erlmcp-vault')), 180_000);
  note(t, `compose (vault profile): up -d to the node started in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  t.match(stack.logs('vault-seed'), /wrote secret\/database\/erlmcp/, 'the seed ran');
  cookieProbe(t, stack, 'erlmcp-vault');

  const rotated = `vault-rotated-jwt-Canary${Date.now()}Qw3e4r5t6y7u8i9o0`;
  const put = stack.compose(['exec', '-T', 'vault', 'vault', 'kv', 'put', 'secret/auth/jwt', `secret=${rotated}`]);
  t.equal(put.status, 0, `docker compose exec vault vault kv put secret/auth/jwt${failure(put)}`);
  await waitFor(() => `the reload to reach the node\n${stack.logs('secrets-sidecar-vault')}\n${stack.logs('erlmcp-vault')}`, () => /stand-in reloaded on erlmcp@127\.0\.0\.1/.test(stack.logs('erlmcp-vault')), 120_000);
  const seen = stack.exec('erlmcp-vault', `grep -c '${rotated}' /run/secrets/erlmcp/erlmcp.env`);
  t.equal(seen.stdout.trim(), '1', `the node's erlmcp.env holds the value put into Vault${failure(seen)}`);
  assertNoLeak(t, [stack.logs('erlmcp-vault'), stack.logs('secrets-sidecar-vault'), stack.logs('vault-seed')], [rotated]);

  const down = stack.compose(['--profile', 'vault', 'down', '-v']);
  t.equal(down.status, 0, `docker compose --profile vault down -v${failure(down)}`);
  t.same(leftovers(stack.project), [], 'nothing of the project is left: containers, volumes, networks');
});

t.teardown(() => {
  if (measured.length > 0) process.stdout.write(`# engine measurements:\n${measured.map((m) => `#   ${m}`).join('\n')}\n`);
});
