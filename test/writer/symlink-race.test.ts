// The writer against a directory swapped for a symlink (and back) in a tight
// loop by another process, while it writes thousands of times: a path check
// before the write cannot win this race; the writer's directory handle must.
// Nothing may ever land outside the root, and no temp file may be left,
// inside or outside.

import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeAtomic, type WriteOutcome } from '../../agent/writer/atomic-write.ts';
import { inMemory, threadPool, type WriteSteps } from '../../agent/writer/write-steps.ts';

const WRITES = 2000;
/** each write fsyncs; on a loaded machine the loop stops here, with at least MIN_WRITES done */
const LOOP_MS = 60_000;
const MIN_WRITES = 1000;
t.setTimeout(240_000);

/** every file under dir, as paths relative to it (symlinks not followed) */
function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const p = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...walk(dir, p));
    else out.push(p);
  }
  return out;
}

// each way of doing the file steps (write-steps.ts) where the writer picks it:
// in memory on tmpfs, through the thread pool on the temp dir's disk
for (const [steps, base] of [
  [inMemory, '/dev/shm'],
  [threadPool, tmpdir()],
] as Array<[WriteSteps, string]>) {
  t.test(`${steps.name} steps: up to ${WRITES} writes while another process swaps the destination directory for a symlink out of the root`, async (t) => {
    const dir = mkdtempSync(path.join(base, 'symlink-race-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const root = path.join(dir, 'out');
    const outside = path.join(dir, 'outside');
    mkdirSync(path.join(root, 'conf'), { recursive: true });
    mkdirSync(outside);
    // a ready symlink to outside, renamed into place and back: each rename is atomic
    symlinkSync(outside, path.join(root, 'link-out'));
    const swapper = `
      const fs = require('node:fs');
      const at = (n) => ${JSON.stringify(root)} + '/' + n;
      let swaps = 0;
      process.stdout.write('ready\\n');
      // a busy loop never runs a signal handler: it looks for a stop file now and then
      for (let i = 0; i % 64 !== 0 || !fs.existsSync(${JSON.stringify(path.join(dir, 'stop'))}); i++) {
        try {
          fs.renameSync(at('conf'), at('conf.aside'));      // the real directory steps aside (it stays in the root)
        } catch { continue; }
        try {
          fs.renameSync(at('link-out'), at('conf'));        // a symlink out of the root takes its place
        } catch {
          // the writer's mkdir made a new conf in the gap: it goes, the real one comes back
          try { fs.rmSync(at('conf'), { recursive: true, force: true }); fs.renameSync(at('conf.aside'), at('conf')); } catch {}
          continue;
        }
        try { fs.renameSync(at('conf'), at('link-out')); } catch {}   // and back
        try { fs.renameSync(at('conf.aside'), at('conf')); } catch {}
        swaps++;
      }
      process.stdout.write(String(swaps));`;
    const child = spawn(process.execPath, ['-e', swapper], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((r) => child.once('exit', r));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    t.teardown(() => {
      child.kill('SIGKILL');
    });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));

    const outcomes = new Map<string, number>();
    const count = (k: string): void => void outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
    const until = Date.now() + LOOP_MS;
    let done = 0;
    // a fast writer may go through its count before the swapper wins once: it goes on until it has
    for (let i = 0; (i < WRITES || !outcomes.has('config')) && (i < MIN_WRITES || Date.now() < until); i++, done++) {
      try {
        const o: WriteOutcome = await writeAtomic(path.join(root, 'conf/db.txt'), Buffer.from(`S=${i}\n`), { mode: 0o600, root }, steps);
        count(o);
      } catch (e) {
        const code = (e as { code?: string }).code ?? 'thrown';
        if (code !== 'config' && !outcomes.has(code)) t.comment(`first ${code}: ${(e as Error).message}`);
        count(code);
      }
      // the swapper must keep swapping: a full stop here would hide the race
      if (i % 500 === 0) await new Promise((r) => setImmediate(r));
    }
    writeFileSync(path.join(dir, 'stop'), '');
    await exited;
    const swaps = Number(out.replace('ready\n', ''));
    t.ok(done >= MIN_WRITES, `${done} writes raced the swapper`);
    t.comment(`outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}; swaps: ${swaps}`);
    t.ok(swaps > 100, `the swapper swapped while the writer wrote (${swaps} swaps)`);
    t.ok((outcomes.get('written') ?? 0) > done / 20, 'many writes went through');
    t.ok((outcomes.get('config') ?? 0) > 0, 'some writes met the symlink and were refused: the race was on');
    t.same(walk(outside), [], 'nothing ever landed outside the root');
    const temps = [...walk(root), ...walk(dir)].filter((f) => path.basename(f).startsWith('.erlmcp-secrets-'));
    t.same(temps, [], 'no temp file anywhere, inside or outside');
    // the swapper may have stopped half-way: the real directory is in one of two places
    const real = ['conf', 'conf.aside'].map((n) => path.join(root, n)).find((p) => statSync(p, { throwIfNoEntry: false })?.isDirectory() && !readdirSync(root, { withFileTypes: true }).find((e) => e.name === path.basename(p))?.isSymbolicLink());
    t.ok(real && readdirSync(real).includes('db.txt'), 'the file is in the real directory, inside the root');
  });
}
