// image/fs-promises-callbacks.mjs, the bundle's node:fs/promises for the
// agent's own modules, answers as the real module does for every function and
// FileHandle method the agent uses (values and errors), a FileHandle closed
// twice never closes a number the system has since given to another file,
// and `init` from the bundle (npm run build first) never loads
// node:fs/promises (nor, with a token login, node:crypto).

import t from 'tap';
import { execFile } from 'node:child_process';
import { closeSync, constants, fstatSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as real from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as shim from '../../image/fs-promises-callbacks.mjs';
import { startVaultFake } from '../fakes/vault/index.ts';
import { BUNDLE } from '../helpers/cli.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const work = mkdtempSync(path.join(tmpdir(), 'fs-promises-callbacks-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

/** the value, or the error's code, syscall and message */
async function outcome<T>(p: Promise<T>): Promise<T | { code?: string; syscall?: string; message: string }> {
  try {
    return await p;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { code: err.code, syscall: err.syscall, message: err.message };
  }
}

const statFields = (s: { ino: number; mode: number; size: number; nlink: number }) => ({ ino: s.ino, mode: s.mode, size: s.size, nlink: s.nlink });

t.test('every function answers as node:fs/promises, values and errors', async (t) => {
  const dir = path.join(work, 'fns');
  await real.mkdir(dir);
  const file = path.join(dir, 'f.txt');
  writeFileSync(file, 'hello\n');
  symlinkSync('f.txt', path.join(dir, 'link'));
  symlinkSync(dir, path.join(work, 'dir-link'));
  const missing = path.join(dir, 'missing');

  t.same(statFields(await shim.stat(file)), statFields(await real.stat(file)), 'stat');
  t.same(statFields(await shim.lstat(path.join(dir, 'link'))), statFields(await real.lstat(path.join(dir, 'link'))), 'lstat of a link');
  t.same(await outcome(shim.stat(missing)), await outcome(real.stat(missing)), 'stat of nothing: the same error');
  t.same(await shim.readdir(dir), await real.readdir(dir), 'readdir');
  const types = async (m: typeof real | typeof shim) => (await m.readdir(dir, { withFileTypes: true })).map((d) => [d.name, d.isFile(), d.isSymbolicLink()]);
  t.same(await types(shim), await types(real), 'readdir withFileTypes');
  t.equal(await shim.readlink(path.join(dir, 'link')), await real.readlink(path.join(dir, 'link')), 'readlink');
  t.same(await outcome(shim.readlink(file)), await outcome(real.readlink(file)), 'readlink of a file: the same error');
  t.equal(await shim.realpath(path.join(work, 'dir-link', 'link')), await real.realpath(path.join(work, 'dir-link', 'link')), 'realpath through links');
  t.equal(await shim.realpath('/proc/self/cwd'), await real.realpath('/proc/self/cwd'), 'realpath under /proc is realpath(3)');
  t.same(await outcome(shim.realpath(missing)), await outcome(real.realpath(missing)), 'realpath of nothing: the same error');
  t.equal(await shim.mkdir(path.join(dir, 'a', 'b'), { recursive: true, mode: 0o755 }), path.join(dir, 'a'), 'mkdir -p gives the first directory made');
  t.equal(await real.mkdir(path.join(dir, 'c', 'd'), { recursive: true, mode: 0o755 }), path.join(dir, 'c'), '(as the real one)');
  t.same(await outcome(shim.mkdir(dir)), await outcome(real.mkdir(dir)), 'mkdir of an existing directory: the same error');
  t.equal(await shim.readFile(file, 'utf8'), 'hello\n', 'readFile utf8');
  t.same(await shim.readFile(file), await real.readFile(file), 'readFile bytes');
  writeFileSync(path.join(dir, 'r1'), 'x');
  await shim.rename(path.join(dir, 'r1'), path.join(dir, 'r2'));
  t.equal(readFileSync(path.join(dir, 'r2'), 'utf8'), 'x', 'rename');
  await shim.unlink(path.join(dir, 'r2'));
  t.same(await outcome(shim.unlink(path.join(dir, 'r2'))), await outcome(real.unlink(path.join(dir, 'r2'))), 'unlink of nothing: the same error');
});

t.test('FileHandle: the methods the agent uses, as the real ones', async (t) => {
  const file = path.join(work, 'handle.txt');
  writeFileSync(file, '0123456789');
  for (const [name, m] of [['shim', shim], ['real', real]] as const) {
    const fh = await m.open(file, constants.O_RDWR);
    const buf = Buffer.alloc(4);
    const r = await fh.read(buf, 0, 4, null);
    t.equal(r.bytesRead, 4, `${name}: read counts its bytes`);
    t.equal(r.buffer, buf, `${name}: read gives back the buffer it was given`);
    t.equal((await fh.readFile()).toString(), '456789', `${name}: readFile reads on from the current position`);
    t.equal((await fh.stat()).size, 10, `${name}: stat`);
    await fh.chmod(0o600);
    t.equal((await fh.stat()).mode & 0o777, 0o600, `${name}: chmod`);
    await fh.sync();
    await fh.close();
    t.equal(fh.fd, -1, `${name}: a closed handle's fd is -1`);
  }

  const out = path.join(work, 'written.bin');
  const fh = await shim.open(out, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o640);
  const big = Buffer.alloc(3 * 1024 * 1024, 7);
  await fh.writeFile(big);
  await fh.chown(-1, -1);
  await fh.close();
  t.same(readFileSync(out), big, 'writeFile writes all of a large buffer');
  t.same(await outcome(shim.open(out, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)), await outcome(real.open(out, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)), 'O_EXCL on an existing file: the same error');
});

t.test('every FileHandle method agent/ calls (found from the types) is in the shim, and write answers as the real one', async (t) => {
  const ts = (await import('typescript')).default;
  const root = path.join(import.meta.dirname, '..', '..');
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(dir, e.name));
      else if (e.name.endsWith('.ts')) files.push(path.join(dir, e.name));
    }
  };
  walk(path.join(root, 'agent'));
  const program = ts.createProgram(files, { noEmit: true, allowImportingTsExtensions: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, types: ['node'] });
  const checker = program.getTypeChecker();
  const called = new Map<string, string>();
  for (const sf of program.getSourceFiles()) {
    if (!sf.fileName.startsWith(path.join(root, 'agent'))) continue;
    const visit = (node: import('typescript').Node): void => {
      if (ts.isPropertyAccessExpression(node)) {
        const type = checker.getTypeAtLocation(node.expression);
        const names = [type, ...(type.isUnion() ? type.types : [])].map((x) => x.getSymbol()?.getName());
        if (names.includes('FileHandle')) called.set(node.name.text, `${path.relative(root, sf.fileName)}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  t.ok(called.size >= 5, `found the FileHandle calls (${[...called.keys()].sort().join(', ')})`);
  const handle = await shim.open(path.join(work, 'methods.txt'), constants.O_RDWR | constants.O_CREAT, 0o600);
  for (const [method, where] of called) t.ok(method in handle, `${method} (${where}) is in the shim's FileHandle`);
  await handle.close();

  const file = path.join(work, 'write.bin');
  for (const [name, m] of [['shim', shim], ['real', real]] as const) {
    writeFileSync(file, 'xxxxxxxx');
    const fh = await m.open(file, constants.O_RDWR);
    const buf = Buffer.from('abcdef');
    const w = await fh.write(buf, 1, 3, 2);
    t.equal(w.bytesWritten, 3, `${name}: write counts its bytes`);
    t.equal(w.buffer, buf, `${name}: write gives back the buffer`);
    await fh.close();
    t.equal(readFileSync(file, 'utf8'), 'xxbcdxxx', `${name}: write puts length bytes from offset at position`);
  }
});

t.test('closing twice never closes the number another open was given since', async (t) => {
  const a = await shim.open(path.join(work, 'handle.txt'), constants.O_RDONLY);
  const number = a.fd;
  await a.close();
  const other = openSync(path.join(work, 'handle.txt'), 'r');
  try {
    t.equal(other, number, 'the system gave the closed number to the next open (what makes a second close dangerous)');
    await a.close();
    t.doesNotThrow(() => fstatSync(other), 'the other file is still open after the second close');
  } finally {
    closeSync(other);
  }
});

t.test('init from the bundle (Vault, token login) never loads node:fs/promises nor node:crypto', async (t) => {
  const vault = await startVaultFake();
  t.teardown(() => vault.close());
  const CANARY = 'Vb7CANARYq2LxW9pZ4';
  vault.putKv('secret/app', { password: CANARY });
  const dir = path.join(work, 'init');
  const out = path.join(dir, 'out');
  await real.mkdir(dir);
  writeFileSync(path.join(dir, 'token'), vault.rootToken);
  writeFileSync(
    path.join(dir, 'agent.yaml'),
    `providers:\n  v: { type: vault, address: "${vault.url}", auth: { method: token, tokenFile: token } }\n` +
      `secrets:\n  app: { provider: v, path: secret/data/app }\noutput: { root: ${out} }\ntemplates:\n  - { contents: "{{app.password}}", destination: p.txt }\n`,
  );
  const recorder = path.join(dir, 'record-builtins.cjs');
  writeFileSync(recorder, "process.on('exit', () => require('node:fs').writeFileSync(process.env.BUILTINS_OUT, process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)).join('\\n')));\n");
  const builtinsFile = path.join(dir, 'builtins');
  // through env -u NODE_OPTIONS: tap's process-info hooks, which it puts in a
  // child's NODE_OPTIONS, load fs/promises themselves
  const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(
      '/usr/bin/env',
      ['-u', 'NODE_OPTIONS', process.execPath, '--require', recorder, BUNDLE, 'init', '-c', path.join(dir, 'agent.yaml')],
      { cwd: dir, env: { PATH: process.env.PATH, BUILTINS_OUT: builtinsFile, ERLMCP_SECRETS_CODE_CACHE: 'off' }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    ),
  );
  t.equal(run.code, 0, run.stderr);
  t.equal(readFileSync(path.join(out, 'p.txt'), 'utf8'), CANARY, 'rendered and written');
  const builtins = readFileSync(builtinsFile, 'utf8').split('\n');
  t.ok(builtins.includes('net'), 'the recorder works: net (the Vault transport) is listed');
  t.same(builtins.filter((b) => b === 'fs/promises' || b === 'internal/fs/promises' || b === 'internal/readline/interface'), [], 'no fs/promises, nor the readline it loads');
  // only jwt and cert logins hash or parse certificates (agent/providers/vault/auth.ts)
  t.same(builtins.filter((b) => b === 'crypto' || b.startsWith('internal/crypto/')), [], 'no crypto: a token login needs none');
  assertNoLeak(t, [run.stdout, run.stderr], [CANARY, vault.rootToken]);
});
