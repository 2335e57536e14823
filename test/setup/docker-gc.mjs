// Gives back the Docker storage earlier test runs left behind. On vfs storage
// (the only driver that works on these machines) every image layer is a full
// copy of its filesystem, so each rebuild of the agent's images leaves
// gigabytes of replaced images and build-stage layers; on a machine that
// keeps its engine's storage between CI runs they piled up until the disk was
// full and a run died of ENOSPC. Run by test/setup/install.sh before anything
// else takes space, and by test/containers/engine.test.ts after its builds.
//
// It runs only while it holds the engine lock (ENGINE_LOCK, which the engine
// test holds for its whole run), so nothing it removes belongs to a test
// still running. It removes only what this project's tests made:
// - containers and volumes the tests labelled (TEST_LABEL; the engine helper
//   adds it to every `docker run`, `create` and `volume create`), and the
//   containers of a compose project erlmcp-test-* run from an erlmcp-compose-*
//   temp folder;
// - stopped containers (a build step's, after a crash) of an image it removes;
// - images: stand-in tags other than the current ones (when the caller says
//   which those are), and every image built on a stand-in or by a test build
//   (the context label) that no tag still needs. An image with any other tag,
//   and everything under it, stays.
//
//   flock -n "${TMPDIR:-/tmp}/erlmcp-secrets-docker-engine.lock" node test/setup/docker-gc.mjs
//
// (install.sh runs it so; the lock is ENGINE_LOCK below)
//
// When no engine runs, it starts dockerd as the tests do (root only) and
// stops it again; with no docker CLI or no dockerd it does nothing. Quiet
// when it removed nothing. Plain JavaScript: it runs before npm ci, on
// whatever node is installed.

import { spawn, spawnSync } from 'node:child_process';
import { statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const DOCKERD_ARGS = ['--storage-driver=vfs', '--bridge=none', '--iptables=false'];
export const CONTEXT_LABEL = 'org.erlmcp-secrets.test.context';
export const TEST_LABEL = 'org.erlmcp-secrets.test';
// in the temp dir, or the one test/run-suite.mjs names (it gives the tests a temp dir of their own per run)
export const ENGINE_LOCK = path.join(process.env.ERLMCP_SECRETS_LOCK_DIR || tmpdir(), 'erlmcp-secrets-docker-engine.lock');

const OUR_TAG = /^erlmcp-standin\/[^:]+:|^erlmcp-secrets:test-/;
const STANDIN_TAG = /^erlmcp-standin\/[^:]+:.+$/;
const COMPOSE_PROJECT = /^erlmcp-test-.+-\d+$/;

/**
 * What to take off an engine's images. Pure: nodes are every image
 * (`docker image ls -a`) with its parent, tags and the context label.
 *
 * @param {{ id: string, parent: string, tags: string[], context: string }[]} nodes
 * @param {Set<string> | undefined} current the stand-in tags in use; every other stand-in tag is stale (undefined: none is)
 * @returns {{ untag: string[], remove: string[] }} stale tags to drop, then the images to remove, each before its parent
 */
export function imageGarbage(nodes, current) {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const children = new Map();
  for (const n of nodes) {
    if (!byId.has(n.parent)) continue;
    if (!children.has(n.parent)) children.set(n.parent, []);
    children.get(n.parent).push(n.id);
  }
  const stale = (tag) => current !== undefined && STANDIN_TAG.test(tag) && !current.has(tag);
  // ours: a stand-in or test image (or one from a test build), and all built on it
  const ours = new Set();
  const down = (id) => {
    if (ours.has(id)) return;
    ours.add(id);
    for (const c of children.get(id) ?? []) down(c);
  };
  for (const n of nodes) if (n.context !== '' || n.tags.some((t) => OUR_TAG.test(t))) down(n.id);
  // live: any image with a tag that stays, and everything under it
  const live = new Set();
  for (const n of nodes) {
    if (!n.tags.some((t) => !stale(t))) continue;
    for (let id = n.id; id !== '' && byId.has(id) && !live.has(id); id = byId.get(id).parent) live.add(id);
  }
  const untag = nodes.flatMap((n) => n.tags.filter(stale)).sort();
  // children before parents (each removed alone, so nothing outside ours goes with it)
  const dead = [...ours].filter((id) => !live.has(id));
  const depth = (id) => {
    let d = 0;
    for (let p = byId.get(id)?.parent; p && byId.has(p); p = byId.get(p).parent) d++;
    return d;
  };
  const remove = dead.map((id) => [depth(id), id]).sort((a, b) => b[0] - a[0] || (a[1] < b[1] ? -1 : 1)).map(([, id]) => id);
  return { untag, remove };
}

/**
 * Whether a container or volume is one the tests made. Pure.
 * @param {Record<string, string> | null | undefined} labels
 */
export function madeByTests(labels) {
  if (!labels) return false;
  if (labels[TEST_LABEL] !== undefined) return true;
  const project = labels['com.docker.compose.project'] ?? '';
  const dir = labels['com.docker.compose.project.working_dir'] ?? '';
  return COMPOSE_PROJECT.test(project) && dir.split(path.sep).some((part) => part.startsWith('erlmcp-compose-'));
}

function docker(args, timeout = 120_000) {
  const r = spawnSync('docker', args, { encoding: 'utf8', timeout, maxBuffer: 256 * 1024 * 1024 });
  return { ok: r.status === 0, out: r.stdout ?? '', err: `${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}
const lines = (s) => s.split('\n').filter((l) => l.trim() !== '');

/** a docker command that must work: the collection stops rather than decide on half a picture */
function must(args) {
  const r = docker(args);
  if (!r.ok) throw new Error(`docker ${args.slice(0, 3).join(' ')} failed: ${r.err.trim().split('\n')[0]}`);
  return r.out;
}
/** `docker X inspect` of every id, in batches, as parsed JSON */
function inspectAll(kind, ids) {
  const all = [];
  for (let i = 0; i < ids.length; i += 200) all.push(...JSON.parse(must([kind, 'inspect', ...ids.slice(i, i + 200)])));
  return all;
}

/** every image with its parent, tags and the test context label */
export function imageNodes() {
  const ids = [...new Set(lines(must(['image', 'ls', '-a', '-q', '--no-trunc'])))];
  return inspectAll('image', ids).map((x) => ({ id: x.Id, parent: x.Parent ?? '', tags: x.RepoTags ?? [], context: x.Config?.Labels?.[CONTEXT_LABEL] ?? '' }));
}

function freeBytes(dir) {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}
const gb = (b) => (b === undefined ? '?' : `${(b / 1e9).toFixed(1)} GB`);

/**
 * The collection on a running engine. The caller holds ENGINE_LOCK.
 * @param {Set<string> | undefined} currentStandins
 * @returns {{ removed: number, refused: string[], line: string }}
 */
export function collect(currentStandins) {
  const root = docker(['info', '--format', '{{.DockerRootDir}}']).out.trim() || '/var/lib/docker';
  const before = freeBytes(root);
  const refused = [];
  const attempt = (args, what) => {
    const r = docker(args, 600_000);
    // an image can go with its last tag before its turn comes
    if (!r.ok && !/No such image/i.test(r.err)) refused.push(`${what}: ${r.err.trim().split('\n')[0]}`);
    return r.ok;
  };
  const containers = inspectAll('container', lines(must(['ps', '-a', '-q', '--no-trunc'])));
  const gone = new Set();
  for (const c of containers) if (madeByTests(c.Config?.Labels) && attempt(['rm', '-f', '-v', c.Id], `container ${c.Name}`)) gone.add(c.Id);
  let nVolumes = 0;
  for (const v of inspectAll('volume', lines(must(['volume', 'ls', '-q'])))) if (madeByTests(v.Labels) && attempt(['volume', 'rm', '-f', v.Name], `volume ${v.Name}`)) nVolumes++;

  const { untag, remove } = imageGarbage(imageNodes(), currentStandins);
  let nTags = 0;
  for (const tag of untag) if (attempt(['rmi', '--no-prune', tag], `tag ${tag}`)) nTags++;
  // a stopped container of an image that goes (a build step's, left by a crash) goes first
  const going = new Set(remove);
  for (const c of containers) {
    if (!gone.has(c.Id) && going.has(c.Image) && !c.State?.Running && attempt(['rm', '-v', c.Id], `container ${c.Name}`)) gone.add(c.Id);
  }
  let nImages = 0;
  for (const id of remove) if (attempt(['rmi', '--no-prune', id], `image ${id.slice(7, 19)}`)) nImages++;
  const after = freeBytes(root);
  const parts = [`${gone.size} containers`, `${nVolumes} volumes`, `${nTags} old stand-in tags`, `${nImages} unused images`];
  return {
    removed: gone.size + nVolumes + nTags + nImages,
    refused,
    line: `docker storage (${root}): removed ${parts.join(', ')}; free ${gb(before)} -> ${gb(after)}${refused.length ? `; could not remove ${refused.length} (${refused.slice(0, 3).join('; ')})` : ''}`,
  };
}

/** stops a dockerd this process started: SIGTERM, SIGKILL after a minute; resolves once it has exited */
export async function stopDockerd(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await gone;
  clearTimeout(timer);
}

const engineUp = () => docker(['version', '--format', '{{.Server.Version}}'], 20_000).ok;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** quiet when there was nothing to take (install.sh prints one line per thing it did) */
const report = ({ removed, refused, line }) => {
  if (removed > 0 || refused.length > 0) console.log(line);
};

async function main() {
  if (spawnSync('docker', ['--version']).status !== 0) return;
  if (engineUp()) {
    report(collect(undefined));
    return;
  }
  // no engine: start one as the engine test would; if it cannot start, that test says why
  if (spawnSync('dockerd', ['--version']).status !== 0 || process.getuid?.() !== 0) return;
  const dockerd = spawn('dockerd', DOCKERD_ARGS, { stdio: 'ignore' });
  let exited = false;
  dockerd.on('exit', () => (exited = true));
  dockerd.on('error', () => (exited = true));
  try {
    const until = Date.now() + 90_000;
    while (!engineUp()) {
      if (exited || Date.now() > until) return;
      await sleep(500);
    }
    report(collect(undefined));
  } finally {
    await stopDockerd(dockerd);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
