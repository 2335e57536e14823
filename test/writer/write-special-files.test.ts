// Something other than a regular file planted at a destination (a FIFO, a
// socket, a device node), with both ways of doing the steps: refused with an
// operator message, never opened for writing, never written through, and
// never a hang. The in-memory steps run on the event loop, so a blocking
// open there would stop the whole agent: each write runs in a child that
// is killed if it does not finish.

import t from 'tap';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

const WRITER = path.resolve('agent/writer/atomic-write.ts');
const STEPS = path.resolve('agent/writer/write-steps.ts');

/** one writeAtomic in a child with the given steps: what it printed, or undefined when it had to be killed */
async function writeInChild(dest: string, steps: 'inMemory' | 'threadPool', root: string): Promise<string | undefined> {
  const script = `
    import { writeAtomic } from ${JSON.stringify(WRITER)};
    import { ${steps} as steps } from ${JSON.stringify(STEPS)};
    writeAtomic(${JSON.stringify(dest)}, Buffer.from('S=canary-9c1e\\n'), { mode: 0o600, root: ${JSON.stringify(root)} }, steps).then(
      (o) => console.log('resolved ' + o),
      (e) => console.log('rejected ' + e.code + ' ' + e.message),
    );`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const signal = await new Promise((r) => child.once('exit', (_c, s) => r(s)));
  clearTimeout(timer);
  return signal === null ? out.trim() : undefined;
}

for (const steps of ['inMemory', 'threadPool'] as const) {
  t.test(`${steps}: a FIFO, a socket${process.getuid?.() === 0 ? ', a device node' : ''} at the destination are refused, without a hang`, async (t) => {
    // /dev/shm: tmpfs, where the in-memory steps are the ones a real write picks
    const root = mkdtempSync('/dev/shm/write-special-');
    t.teardown(() => rmSync(root, { recursive: true, force: true }));
    execFileSync('mkfifo', [path.join(root, 'fifo.env')]);
    const server = createServer();
    await new Promise<void>((r) => server.listen(path.join(root, 'socket.env'), r));
    t.teardown(() => server.close());
    const planted: Array<[string, RegExp]> = [
      ['fifo.env', /^rejected config .*fifo\.env exists and is not a regular file; remove it or choose another destination$/],
      // open(2) of a socket fails before any stat: the operator still learns the file is the problem
      ['socket.env', /^rejected internal cannot write .*socket\.env: ENXIO; check that the output volume is mounted and writable by this user$/],
    ];
    if (process.getuid?.() === 0) {
      // the null device's numbers: harmless to open, and a write through it would vanish unseen
      execFileSync('mknod', [path.join(root, 'null.env'), 'c', '1', '3']);
      planted.push(['null.env', /^rejected (config .*null\.env exists and is not a regular file; remove it or choose another destination|internal .*: EACCES; .*)$/]);
    }
    for (const [name, expected] of planted) {
      const out = await writeInChild(path.join(root, name), steps, root);
      t.not(out, undefined, `${name}: finished within 20 s instead of hanging`);
      t.match(out, expected, `${name}: refused with an operator message`);
      t.equal(statSync(path.join(root, name)).isFile(), false, `${name}: still what was planted, not replaced`);
    }
    t.same(readdirSync(root).filter((n) => n.startsWith('.erlmcp-secrets-')), [], 'no temp file left');
  });
}
