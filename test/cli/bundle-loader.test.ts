// The bundle's loader (image/code-cache-loader.cjs, code-cache-runtime.cjs):
// the program and the provider chunks live in the file's closing comment.
// Once the sidecar runs, the heap holds the program's source once and
// nothing of the loader's own source (which carries the whole payload), and
// no provider chunk that was never configured. Checked on a real heap
// snapshot of `run` from the bundle copied alone into an empty folder.

import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BUNDLE } from '../helpers/cli.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const CANARY = 'CANARY-q7w3e9r1t5y2u8i4o6p0';

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** every string in the heap (flat, cons or sliced) with its size */
function heapStrings(snap: HeapSnapshot): Array<{ text: string; size: number }> {
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [ti, ni, si] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const out: Array<{ text: string; size: number }> = [];
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    if (!/string/.test(types[snap.nodes[i + ti]!]!)) continue;
    out.push({ text: snap.strings[snap.nodes[i + ni]!]!, size: snap.nodes[i + si]! });
  }
  return out;
}

t.test('a running sidecar keeps the program once and nothing of the loader\'s payload', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bundle-loader-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const alone = path.join(dir, 'bin');
  mkdirSync(alone);
  copyFileSync(BUNDLE, path.join(alone, 'erlmcp-secrets.js'));
  mkdirSync(path.join(dir, 'secrets'));
  writeFileSync(path.join(dir, 'secrets', 'api'), CANARY);
  writeFileSync(
    path.join(dir, 'agent.yaml'),
    'providers: { local: { type: file, path: ./secrets } }\nsecrets: { api: { provider: local } }\n' +
      'templates: [ { contents: "KEY={{api.value}}\\n", destination: api.env } ]\noutput: { root: ./out }\n' +
      'server: { enabled: false }\nrefresh: { interval: 1h }\n',
  );
  // tap hooks the children it sees with NODE_OPTIONS=--import=...: an --import
  // sends the entry through Node's ESM loader, which keeps the entry's source
  // alive, so the agent runs here as it does in a pod, with no such option
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, '--heapsnapshot-signal=SIGUSR2', path.join(alone, 'erlmcp-secrets.js'), 'run', '-c', 'agent.yaml'], {
    cwd: dir,
    env: { PATH: process.env.PATH, ERLMCP_SECRETS_CODE_CACHE: 'off' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.teardown(() => {
    child.kill('SIGKILL');
  });

  const snapshots = () => readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot'));
  const wait = async (cond: () => boolean, what: string) => {
    const deadline = Date.now() + 30_000;
    while (!cond()) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${what} did not happen: ${output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await wait(() => readdirSync(dir).includes('out') && readdirSync(path.join(dir, 'out')).includes('api.env'), 'the first render');
  // V8's compilation cache keeps a script for a few full GCs after its last
  // use; each heap snapshot starts with one, so the third shows the steady state
  const complete = async (n: number) => {
    let size = -1;
    await wait(() => {
      const f = snapshots().sort()[n - 1];
      if (!f) return false;
      // written in chunks: done when the size stops growing and the JSON closes
      const now = readFileSync(path.join(dir, f)).length;
      const done = now === size && readFileSync(path.join(dir, f), 'utf8').trimEnd().endsWith('}');
      size = now;
      return done;
    }, `heap snapshot ${n}`);
  };
  for (const n of [1, 2, 3]) {
    child.kill('SIGUSR2');
    await complete(n);
  }
  child.kill('SIGTERM');
  await exited;

  const file = readFileSync(BUNDLE, 'utf8');
  const payloadAt = file.indexOf('\n/*erlmcp-secrets payload\n');
  t.ok(payloadAt > 0, 'the bundle carries its payload in a closing comment');
  const strings = heapStrings(JSON.parse(readFileSync(path.join(dir, snapshots().sort()[2]!), 'utf8')) as HeapSnapshot);
  // (a snapshot names a string by its first 1024 characters; self_size is its real size)
  const programStrings = strings.filter((s) => s.size > 100_000 && s.text.startsWith('(function (exports, require, module, __filename, __dirname) {"use strict";'));
  t.equal(programStrings.length, 1, 'the program\'s source is in the heap once');
  t.same(
    strings.filter((s) => s.text.startsWith('#!/usr/bin/env node')).map((s) => s.size),
    [],
    'the loader\'s source, which carries the whole payload, is gone',
  );
  t.ok(strings.every((s) => s.size < file.length * 0.9), 'no string as large as the bundle file');
  assertNoLeak(t, output, [CANARY]);
});

t.test('a bundle whose payload moved (bytes appended) says so instead of running something else', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bundle-loader-moved-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const moved = path.join(dir, 'erlmcp-secrets.js');
  // still valid JavaScript: only whitespace after the closing comment
  writeFileSync(moved, `${readFileSync(BUNDLE, 'utf8')}\n\n`);
  const r = spawnSync(process.execPath, [moved, 'version'], { encoding: 'utf8', env: { PATH: process.env.PATH, ERLMCP_SECRETS_CODE_CACHE: 'off' } });
  t.not(r.status, 0, 'does not run');
  t.match(r.stderr, `erlmcp-secrets: ${moved} has lost its payload; reinstall it`);
  t.equal(r.stdout, '');
});
