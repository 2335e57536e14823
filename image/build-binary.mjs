// Builds dist/erlmcp-secrets: one executable file holding Node 24 and the
// agent (Node's single executable application support). Steps: bundle the
// agent as CommonJS (image/build.mjs --sea), let the chosen node binary turn
// it into a SEA blob, copy that binary, strip its symbols, inject the blob.
//
//   node image/build-binary.mjs [--mode snapshot|code-cache|plain]
//                               [--node PATH] [--out FILE] [--no-strip]
//
// --mode: how V8 gets the bundle at start. `snapshot` (default) evaluates the
// bundle's modules at build time and starts from a V8 startup snapshot;
// `code-cache` ships V8 bytecode for the bundle; `plain` compiles at start.
// bench/size-and-start.mjs measures all three; snapshot starts fastest.
// --node defaults to the project's Node 24 (node_modules/node/bin/node), else
// the node running this script; it must be Node 24, because the blob is only
// understood by the node version that made it.

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// The fuse Node's SEA loader looks for; postject flips it when it injects.
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function fail(message) {
  process.stderr.write(`build-binary: ${message}\n`);
  process.exit(1);
}

const USAGE = 'usage: node image/build-binary.mjs [--mode snapshot|code-cache|plain] [--node PATH] [--out FILE] [--no-strip]';
let opts;
try {
  ({ values: opts } = parseArgs({
    options: {
      node: { type: 'string' },
      out: { type: 'string', default: path.join(root, 'dist', 'erlmcp-secrets') },
      mode: { type: 'string', default: 'snapshot' },
      'no-strip': { type: 'boolean', default: false },
    },
  }));
} catch (e) {
  fail(`${e.message}\n${USAGE}`);
}

const MODES = ['snapshot', 'code-cache', 'plain'];
if (!MODES.includes(opts.mode)) fail(`--mode ${opts.mode}: use one of ${MODES.join(', ')}`);

function chooseNode() {
  const candidates = [opts.node, path.join(root, 'node_modules/node/bin/node'), process.execPath].filter(Boolean);
  for (const bin of candidates) {
    if (!existsSync(bin)) {
      if (bin === opts.node) fail(`--node ${bin}: no such file`);
      continue;
    }
    const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
    if (/^v24\./.test(version)) return { bin: realPath(bin), version };
    if (bin === opts.node) fail(`--node ${bin} is ${version}; the single executable needs Node 24`);
  }
  fail('no Node 24 found: run `npm ci` (it installs node_modules/node) or pass --node /path/to/node24');
}

function realPath(p) {
  // node_modules/node/bin/node is a small launcher script in some installs;
  // the real ELF binary is what must be copied.
  const head = readFileSync(p).subarray(0, 4);
  if (head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) return p;
  const resolved = execFileSync(p, ['-p', 'process.execPath'], { encoding: 'utf8' }).trim();
  return resolved;
}

function hasStrip() {
  try {
    execFileSync('strip', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const node = chooseNode();
const out = path.resolve(opts.out);
mkdirSync(path.dirname(out), { recursive: true });

execFileSync(node.bin, [path.join(root, 'image/build.mjs'), '--sea'], { stdio: ['ignore', 'inherit', 'inherit'] });
const main = path.join(root, 'dist', 'erlmcp-secrets.cjs');

const work = mkdtempSync(path.join(tmpdir(), 'erlmcp-sea-'));
try {
  const blob = path.join(work, 'sea.blob');
  const seaConfig = {
    main,
    output: blob,
    disableExperimentalSEAWarning: true,
    useSnapshot: opts.mode === 'snapshot',
    useCodeCache: opts.mode === 'code-cache',
    // the same node flags as the bundle's image (why: image/node-flags.json)
    execArgv: JSON.parse(readFileSync(path.join(root, 'image/node-flags.json'), 'utf8')).flags,
  };
  writeFileSync(path.join(work, 'sea-config.json'), JSON.stringify(seaConfig, null, 2));
  // The snapshot builder warns that worker_threads and module (loaded by
  // pino and the bundle's require shim) are "not yet fully verified" in user
  // snapshots: neither is used before main runs; test/image/ runs the built
  // binary through init, check and the sidecar to prove it.
  const made = spawnSync(node.bin, ['--experimental-sea-config', path.join(work, 'sea-config.json')], { cwd: work, encoding: 'utf8' });
  if (made.status !== 0) fail(`node --experimental-sea-config failed:\n${made.stderr}`);

  const tmpOut = path.join(work, 'erlmcp-secrets');
  copyFileSync(node.bin, tmpOut);
  chmodSync(tmpOut, 0o755);
  // Symbols are a fifth of the binary; the blob must go in after stripping,
  // since strip would drop the injected note.
  if (!opts['no-strip'] && hasStrip()) execFileSync('strip', ['--strip-all', tmpOut]);

  const { inject } = await import('postject');
  // postject's ELF library warns once per note section of the node binary
  // ("Can't find string offset"): noise, since the result is checked below.
  const warn = console.warn;
  console.warn = (...args) => {
    if (!/string offset for section name/.test(String(args[0]))) warn(...args);
  };
  try {
    await inject(tmpOut, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
  } finally {
    console.warn = warn;
  }

  const check = execFileSync(tmpOut, ['version'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } }).trim();
  if (!check.startsWith('erlmcp-secrets ')) fail(`the built binary answered "${check}" to version`);
  copyFileSync(tmpOut, out);
  chmodSync(out, 0o755);
  const mib = (statSync(out).size / 1024 / 1024).toFixed(1);
  process.stdout.write(`built ${path.relative(root, out)} (${mib} MiB, node ${node.version}, ${opts.mode}): ${check}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
