// Fills the bundle's V8 code cache (image/code-cache-runtime.cjs) at image
// build time, on every path the image can take: the commands it runs
// (version, check, init; run and exec start with init's cache) and, for
// init, every provider type: file, vault, aws, azure, gcp. A cache warmed on
// the file provider alone left a Vault init compiling the Vault code at every
// start (issue 16). V8 writes into a cache the functions compiled before it
// is made, so the init runs go one after another with
// ERLMCP_SECRETS_CODE_CACHE_WARM=1, which makes each run write its cache
// again, now holding what the earlier runs compiled and what it added.
//
// Vault and AWS answer from stubs on 127.0.0.1 in this process (the build has
// no backend), so their whole success path is compiled; Azure and GCP are
// pointed at a closed port: their SDKs and clients load and their first call
// fails (exit 4), which is all a build can reach without their servers.
//
//   node image/warm-code-cache.mjs <node> [node flags...] <bundle> <examples/local/agent.yaml>
//
// The Dockerfile's warm stage runs it with the runtime's node, the entrypoint's
// flags (V8 rejects a cache made under other flags) and the runtime's paths.
// Only node builtins: the warm stage is the distroless runtime image.

import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

const USAGE = 'usage: node image/warm-code-cache.mjs <node> [node flags...] <bundle.js> <file-provider agent.yaml>';
const argv = process.argv.slice(2);
const bundleAt = argv.findIndex((a) => a.endsWith('.js'));
if (argv.length < 3 || bundleAt < 1 || bundleAt !== argv.length - 2) {
  console.error(USAGE);
  process.exit(2);
}
const [node, ...flags] = argv.slice(0, bundleAt);
const bundle = argv[bundleAt];
const fileExample = argv[bundleAt + 1];
const cacheDir = process.env.ERLMCP_SECRETS_CODE_CACHE;
if (!cacheDir || cacheDir === 'off') {
  console.error('warm-code-cache: set ERLMCP_SECRETS_CODE_CACHE to the cache directory the image ships');
  process.exit(2);
}

/** runs the bundle; resolves with its exit code, rejects on one not in `ok` */
function bundleRun(args, ok, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [...flags, bundle, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let err = '';
    child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) => (ok.includes(code) ? resolve(code) : reject(new Error(`warm-code-cache: ${args.join(' ')} exited ${code}, expected ${ok.join(' or ')}:\n${err}`))));
  });
}

// ---- stubs: the least a Vault and an AWS Secrets Manager answer for one init ----

const WARM_VALUE = 'warm-up-value-not-a-secret';

function vaultReply(req) {
  if (req.method === 'GET' && req.url === '/v1/auth/token/lookup-self') {
    return { data: { accessor: 'warm', creation_time: 0, creation_ttl: 0, display_name: 'token', entity_id: '', expire_time: null, explicit_max_ttl: 0, id: 'warm', meta: null, num_uses: 0, orphan: true, path: 'auth/token/create', policies: ['default'], renewable: false, ttl: 0, type: 'service' } };
  }
  if (req.method === 'GET' && req.url.startsWith('/v1/secret/data/warm')) {
    return { request_id: 'warm', lease_id: '', renewable: false, lease_duration: 0, data: { data: { value: WARM_VALUE }, metadata: { created_time: '2026-01-01T00:00:00Z', custom_metadata: null, deletion_time: '', destroyed: false, version: 1 } }, wrap_info: null, warnings: null, auth: null };
  }
  return undefined;
}

function awsReply(req) {
  if (req.method === 'POST' && req.headers['x-amz-target'] === 'secretsmanager.GetSecretValue') {
    return { ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:warm-AbCdEf', Name: 'warm', SecretString: JSON.stringify({ value: WARM_VALUE }), VersionId: '00000000-0000-0000-0000-000000000001', VersionStages: ['AWSCURRENT'], CreatedDate: 1767225600 };
  }
  return undefined;
}

function stub(reply) {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = reply(req);
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body ?? { errors: ['not found'] }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** a port nothing listens on: bound, noted and closed again */
async function closedPort() {
  const s = await stub(() => undefined);
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

const work = mkdtempSync(path.join(tmpdir(), 'erlmcp-warm-'));
try {
  writeFileSync(path.join(work, 'token'), 'warm-token\n');
  const vault = await stub(vaultReply);
  const aws = await stub(awsReply);
  const closed = await closedPort();
  const providers = {
    vault: { provider: { type: 'vault', address: `http://127.0.0.1:${vault.address().port}`, auth: { method: 'token', tokenFile: './token' } }, secret: { path: 'secret/data/warm' }, ok: [0] },
    aws: { provider: { type: 'aws', region: 'us-east-1', endpoint: `http://127.0.0.1:${aws.address().port}` }, secret: { id: 'warm' }, ok: [0] },
    azure: { provider: { type: 'azure', vaultUrl: `https://127.0.0.1:${closed}`, credential: { type: 'managed' } }, secret: { name: 'warm' }, ok: [4] },
    gcp: { provider: { type: 'gcp', project: 'warm-up-project', endpoint: `127.0.0.1:${closed}`, insecure: true }, secret: { name: 'warm' }, ok: [4] },
  };
  // fixed stand-in credentials: the SDKs look for some before their first call
  const env = { AWS_ACCESS_KEY_ID: 'AKIAWARMUPNOTAKEY000', AWS_SECRET_ACCESS_KEY: 'warm-up-not-a-key', AWS_EC2_METADATA_DISABLED: 'true', HOME: work };

  await bundleRun(['version'], [0]);
  await bundleRun(['check', '-c', fileExample], [0]);
  await bundleRun(['init', '-c', fileExample], [0]);
  for (const [type, p] of Object.entries(providers)) {
    const cfg = path.join(work, `${type}.yaml`);
    // JSON is flow YAML; the template is the shape of erlmcp's (one key, dotenv)
    writeFileSync(
      cfg,
      `providers: { warm: ${JSON.stringify(p.provider)} }
secrets: { s: ${JSON.stringify({ provider: 'warm', ...p.secret })} }
templates: [ { contents: "VALUE={{s.value}}\\n", destination: warm.env, escape: dotenv } ]
output: { root: ./out }
server: { enabled: false }
log: { level: fatal }
init: { timeout: 2s, backoff: { initial: 200ms, max: 500ms } }
`,
    );
    await bundleRun(['init', '-c', cfg], p.ok, { ...env, ERLMCP_SECRETS_CODE_CACHE_WARM: '1' });
  }
  await new Promise((r) => vault.close(r));
  await new Promise((r) => aws.close(r));

  // run and exec start with init's path: they start from its cache
  for (const f of readdirSync(cacheDir).filter((f) => f.includes('-init-'))) {
    for (const c of ['run', 'exec']) copyFileSync(path.join(cacheDir, f), path.join(cacheDir, f.replace('-init-', `-${c}-`)));
  }
  // the loader writes its caches 0600; readable by all, so that once the
  // image's runtime stage copies them in as root (not writable by the image
  // user, as the loader requires) the image user can still read them. Done
  // here, not with COPY --chmod, which needs BuildKit: the classic builder
  // builds the Dockerfile too.
  chmodSync(cacheDir, 0o755);
  for (const f of readdirSync(cacheDir)) chmodSync(path.join(cacheDir, f), 0o444);
} finally {
  rmSync(work, { recursive: true, force: true });
}
