// Builds dist/erlmcp-secrets: one executable file holding Node 24 and the
// agent (Node's single executable application support). Steps: bundle the
// agent as CommonJS (image/build.mjs --sea), let the chosen node binary turn
// it into a SEA blob, copy that binary, strip its symbols, inject the blob.
//
//   node image/build-binary.mjs [--node PATH] [--out FILE]
//                               [--no-code-cache] [--snapshot] [--no-strip]
//
// --node defaults to the project's Node 24 (node_modules/node/bin/node), else
// the node running this script; it must be Node 24, because the blob is only
// understood by the node version that made it. The defaults are the variant
// bench/size-and-start.mjs measured fastest to start.

import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// The fuse Node's SEA loader looks for; postject flips it when it injects.
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const { values: opts } = parseArgs({
  options: {
    node: { type: 'string' },
    out: { type: 'string', default: path.join(root, 'dist', 'erlmcp-secrets') },
    'no-code-cache': { type: 'boolean', default: false },
    snapshot: { type: 'boolean', default: false },
    'no-strip': { type: 'boolean', default: false },
  },
});

function fail(message) {
  process.stderr.write(`build-binary: ${message}\n`);
  process.exit(1);
}

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
    useSnapshot: opts.snapshot,
    // V8 ignores a code cache inside a snapshot; ask for one only without it
    useCodeCache: !opts['no-code-cache'] && !opts.snapshot,
  };
  writeFileSync(path.join(work, 'sea-config.json'), JSON.stringify(seaConfig, null, 2));
  execFileSync(node.bin, ['--experimental-sea-config', path.join(work, 'sea-config.json')], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });

  const tmpOut = path.join(work, 'erlmcp-secrets');
  copyFileSync(node.bin, tmpOut);
  chmodSync(tmpOut, 0o755);
  // Symbols are a fifth of the binary; the blob must go in after stripping,
  // since strip would drop the injected note.
  if (!opts['no-strip'] && hasStrip()) execFileSync('strip', ['--strip-all', tmpOut]);

  const { inject } = await import('postject');
  // postject's ELF library warns about Node's many notes on stderr; those
  // lines are noise, the injection result is checked right below.
  await inject(tmpOut, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });

  const check = execFileSync(tmpOut, ['version'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } }).trim();
  if (!check.startsWith('erlmcp-secrets ')) fail(`the built binary answered "${check}" to version`);
  copyFileSync(tmpOut, out);
  chmodSync(out, 0o755);
  const mib = (statSync(out).size / 1024 / 1024).toFixed(1);
  const flags = [seaConfig.useCodeCache && 'code cache', seaConfig.useSnapshot && 'snapshot'].filter(Boolean).join(', ') || 'no cache';
  process.stdout.write(`built ${path.relative(root, out) || out} (${mib} MiB, node ${node.version}, ${flags}): ${check}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
