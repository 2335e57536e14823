// Property test of the admission path: a fixed number of seeded cases of
// random and mutated annotation maps and pod specs (nulls, wrong types,
// Object.prototype names, huge values, Unicode). Every case must end as an
// admission whose patch applies and whose injected config passes the check
// `erlmcp-secrets check` runs, or as a denial with a reason: never an
// exception (the server's HTTP 500), never a hang, never unbounded memory.
// SEED and CASES are fixed so a failure replays; FUZZ_SEED overrides the seed.

import t from 'tap';
import jsonpatch from 'fast-json-patch';
import { handleAdmissionReview } from '../../agent/webhook/admission.ts';
import type { Pod } from '../../agent/webhook/pod-types.ts';
import { seededRandom } from '../helpers/seeded-random.ts';
import { HOSTILE_ALPHABET, randomString } from '../helpers/seeded-strings.ts';
import { injectedConfigProblems, loadReview, reviewOf, testWebhookConfig } from '../helpers/webhook-admit.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261203);
const CASES = 1500;
const P = 'secrets.erlmcp.io/';

const rand = seededRandom(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const chance = (p: number) => rand() < p;

const PROTO = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__'];
const NAMES = ['db', 'cookie', 'jwt', 'x', 'a.env', 'erlmcp.env', 'DB_PASSWORD', '', 'é', '😀', ...PROTO];
const SINGLE = ['inject', 'mode', 'config', 'reload', 'role', 'vault-address', 'containers', 'exec-command', 'volume-mount-path', 'volume-size', 'cpu-request', 'cpu-limit', 'memory-request', 'memory-limit', 'init-timeout', 'refresh-interval', 'log-level', 'quit', 'port', 'run-as-user', 'pre-populate-only', 'reload-erlang-cookie', 'image', 'status', 'aws-region', 'gcp-project'];
const FAMILIES = ['secret', 'require', 'template', 'escape', 'mode', 'env'];
const GOOD_VALUES: Record<string, string[]> = {
  inject: ['true', 'false', 'yes'],
  mode: ['native-sidecar', 'sidecar', 'init-only', 'exec', 'daemon'],
  config: ['providers: { vault: { type: vault } }', '{"secrets": {"constructor": {"provider": "vault", "path": "a/b"}}}', '{"__proto__": {"x": 1}}', 'templates: [{ contents: "{{db.k}}", destination: "' + 'z'.repeat(300) + '" }]', '- a', '{{{', 'exec: { env: { __proto__: "{{db.k}}" } }'],
  reload: ['erlang:erlmcp_config:reload', 'none', 'http://127.0.0.1:8081/r', 'signal:SIGHUP:beam.smp', 'exec:x'],
  'volume-mount-path': ['/run/secrets/erlmcp', '/proc', '/sys/x', '/dev', '/var/run/secrets/kubernetes.io/serviceaccount', '/var', 'rel', '/a/../b', '/etc/erlmcp/secrets'],
  'volume-size': ['4Mi', '-1Mi', '0', '1e400', '1Ki', '2Gi', '.5Mi', 'Mi'],
  'cpu-request': ['10m', '0', '-1', '1.5m', '100', '1e-9', '20m'],
  'cpu-limit': ['100m', '0', '5m', '8', '9', '250m'],
  'memory-request': ['48Mi', '0', '256Mi', '1e8', '-1'],
  'memory-limit': ['128Mi', '0', '16Mi', '96Mi', '9Gi', '128MB'],
  port: ['9102', '0', '65536', '9110', 'x'],
  'run-as-user': ['0', '1000', '99999999999'],
  containers: ['erlmcp', 'erlmcp,sidecar', ',', 'constructor'],
  'exec-command': ['["/x"]', '[]', '/x', '[1]'],
  secret: ['vault:secret/data/db', 'file:/etc/erlmcp/k8s-secrets/db', 'constructor:a', 'aws:x', 'vault:', ':x', 'gcp:projects/p/secrets/s'],
  require: ['username,password', 'k', '__proto__', '{ __proto__: {} }', '{ value: { minLength: 20 } }', 'toString,valueOf', ',,'],
  template: ['X={{db.k}}', '{{constructor.toString}}', '{{#db}}x{{/db}}', '{{db.password}}\n{{cookie.value}}', '{{', 'plain'],
  escape: ['dotenv', 'json', 'html'],
  env: ['{{db.k}}', '{{x.y}}'],
};

function randomValue(kind: string): unknown {
  const r = rand();
  if (r < 0.55 && GOOD_VALUES[kind]) return pick(GOOD_VALUES[kind]!);
  if (r < 0.7) return randomString(rand, HOSTILE_ALPHABET, 12);
  if (r < 0.78) return pick<unknown>([null, 42, true, {}, [], ['a'], { toString: 'x' }, -0, 1e308]);
  if (r < 0.84) return 'x'.repeat(Math.floor(rand() * 300_000)); // past the value and total limits at times
  if (r < 0.9) return pick(PROTO);
  return pick(NAMES) + randomString(rand, HOSTILE_ALPHABET, 3);
}

function randomAnnotations(): Record<string, unknown> {
  const out: Record<string, unknown> = chance(0.95) ? { [`${P}inject`]: chance(0.9) ? 'true' : randomValue('inject') } : {};
  if (chance(0.8)) out[`${P}role`] = 'erlmcp';
  if (chance(0.8)) out[`${P}secret-db`] = 'vault:secret/data/database/erlmcp';
  const n = Math.floor(rand() * 8);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.4) {
      const k = pick(SINGLE);
      out[`${P}${k}`] = randomValue(k);
    } else if (r < 0.85) {
      const fam = pick(FAMILIES);
      const name = chance(0.7) ? pick(NAMES) : randomString(rand, HOSTILE_ALPHABET, 6);
      out[`${P}${fam}-${name}`] = randomValue(fam);
    } else if (r < 0.95) {
      out[`${P}${randomString(rand, HOSTILE_ALPHABET, 8)}`] = randomValue('x');
    } else {
      out[pick(['example.com/x', '', '__proto__', 'constructor'])] = randomValue('x');
    }
  }
  return out;
}

/** a real fixture pod, mutated in a few places */
function mutatedPod(): Pod {
  const base = loadReview(pick(['native-sidecar.json', 'sidecar-job.json', 'init-only.json', 'exec.json'])).request.object;
  const pod = structuredClone(base) as unknown as Record<string, unknown>;
  const spec = pod.spec as Record<string, unknown>;
  const mutations = Math.floor(rand() * 4);
  for (let i = 0; i < mutations; i++) {
    const r = rand();
    const containers = spec.containers as unknown[];
    if (r < 0.15) containers.push(pick([null, 1, 'c', {}, { name: pick(NAMES) }, { name: 'x', volumeMounts: [null] }, { name: 'y', env: [null], ports: [null], command: 'sh' }]));
    else if (r < 0.25) spec.initContainers = pick([null, [null], {}, [{ name: 'erlmcp-secrets' }], undefined]);
    else if (r < 0.35) spec.volumes = pick([null, [null], [{ name: 'erlmcp-secrets' }], [{}], 'v']);
    else if (r < 0.45) (containers[0] as Record<string, unknown>).volumeMounts = pick([null, [null], [{ name: 'd', mountPath: '/etc/erlmcp/k8s-secrets/db' }], [{ name: 'd' }], [{ name: 'd', mountPath: 5 }]]);
    else if (r < 0.5) spec.securityContext = pick([null, 1, { runAsUser: 'x' }]);
    else if (r < 0.55) pod.metadata = pick([null, 'm', { annotations: null }, { annotations: [] }]);
    else if (r < 0.6) pod.spec = pick([null, {}, { containers: null }, { containers: {} }]);
    else if (pod.metadata !== null && typeof pod.metadata === 'object') {
      const meta = pod.metadata as Record<string, unknown>;
      const ann = (meta.annotations && typeof meta.annotations === 'object' ? meta.annotations : {}) as Record<string, unknown>;
      Object.assign(ann, randomAnnotations());
      meta.annotations = ann;
    }
  }
  return pod as unknown as Pod;
}

function randomPod(): Pod {
  if (chance(0.5)) return mutatedPod();
  const spec: Record<string, unknown> = { containers: [{ name: 'erlmcp', image: 'erlmcp/erlmcp:3.0.0', ...(chance(0.3) ? { command: ['/opt/erlmcp/bin/erlmcp'] } : {}) }] };
  if (chance(0.2)) spec.shareProcessNamespace = true;
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'fuzz', annotations: randomAnnotations() as Record<string, string> }, spec: spec as Pod['spec'] };
}

t.test(`${CASES} seeded admission cases (seed ${SEED}) end in an admission that passes check, or a denial with a reason`, async (t) => {
  const cfg = testWebhookConfig();
  const counts = { admitted: 0, denied: 0, skipped: 0, badRequest: 0 };
  const failures: string[] = [];
  let slowest = 0;
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < CASES && failures.length < 5; i++) {
    const pod = randomPod();
    const review = reviewOf(pod, `fuzz-${i}`);
    const started = performance.now();
    let out;
    try {
      out = handleAdmissionReview(review, cfg);
    } catch (e) {
      failures.push(`case ${i}: threw ${(e as Error).stack?.split('\n').slice(0, 4).join(' | ')}`);
      continue;
    }
    slowest = Math.max(slowest, performance.now() - started);
    if (!out.ok) {
      // only for a review that is not one (the pod is always there): say why
      counts.badRequest++;
      if (typeof out.message !== 'string' || out.message === '') failures.push(`case ${i}: HTTP ${out.httpStatus} without a reason`);
      continue;
    }
    const res = out.review.response;
    if (res.uid !== `fuzz-${i}`) failures.push(`case ${i}: uid not echoed`);
    if (!res.allowed) {
      counts.denied++;
      const msg = res.status?.message ?? '';
      if (res.status?.code !== 400 || !msg.startsWith('erlmcp-secrets: ') || msg.length < 20) failures.push(`case ${i}: a denial without a reason: ${JSON.stringify(res.status).slice(0, 300)}`);
      if (msg.length > 40_000) failures.push(`case ${i}: a denial of ${msg.length} characters`);
      continue;
    }
    if (!res.patch) {
      counts.skipped++;
      continue;
    }
    counts.admitted++;
    try {
      const ops = JSON.parse(Buffer.from(res.patch, 'base64').toString('utf8')) as jsonpatch.Operation[];
      const patched = jsonpatch.applyPatch(jsonpatch.deepClone(pod), ops, true, false).newDocument as Pod;
      const problems = injectedConfigProblems(patched);
      if (problems.length) failures.push(`case ${i}: admitted, but check refuses its config: ${problems.join('; ').slice(0, 500)}`);
    } catch (e) {
      failures.push(`case ${i}: admitted with a patch that does not apply: ${(e as Error).message}`);
    }
  }
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  t.same(failures, [], 'every case ended in an admission that passes check, or a denial with a reason');
  t.ok(counts.admitted >= 50 && counts.denied >= 300, `both outcomes are exercised: ${JSON.stringify(counts)}`);
  t.ok(slowest < 5_000, `no case took long (slowest ${slowest.toFixed(0)} ms; generous for a loaded machine)`);
  t.ok(heapGrowth < 512 * 1024 * 1024, `memory stays bounded (heap grew ${(heapGrowth / 1048576).toFixed(0)} MiB over ${CASES} cases)`);
});
