// Every step of a write failing, one at a time, with both ways of doing the
// steps (write-steps.ts). The writer holds raw descriptors, which nothing
// closes for it: a failure at any step must leave no descriptor open, no
// temp file behind, the destination old or new (never partial), and an
// error that tells the operator what failed. The failing step's error is
// injected (EIO), the file system is the real one.

import t from 'tap';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AgentError } from '../../agent/errors.ts';
import { writeAtomic, type WriteOptions, type WriteOutcome } from '../../agent/writer/atomic-write.ts';
import { inMemory, threadPool, type WriteSteps } from '../../agent/writer/write-steps.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

type Method = Exclude<keyof WriteSteps, 'name'>;

const openFds = (): number => readdirSync('/proc/self/fd').length;

/** `base`, counting its calls per method; the `failAt`-th call of `method`
 * fails with EIO the way `base` fails (a throw or a rejection). A failing
 * close still closes, as close(2) does on Linux whatever it returns. */
function injected(base: WriteSteps, calls: Map<Method, number>, fail?: { method: Method; at: number }): WriteSteps {
  const out: Record<string, unknown> = { name: base.name };
  for (const m of Object.keys(base).filter((k) => k !== 'name') as Method[]) {
    const real = base[m] as (...a: unknown[]) => unknown;
    out[m] = (...args: unknown[]) => {
      const n = (calls.get(m) ?? 0) + 1;
      calls.set(m, n);
      if (fail && fail.method === m && fail.at === n) {
        const err = Object.assign(new Error(`injected EIO at ${m} #${n}`), { code: 'EIO' });
        if (m === 'close') {
          const closed = real(...args);
          if (base === inMemory) throw err;
          return Promise.resolve(closed).then(() => Promise.reject(err));
        }
        if (base === inMemory) throw err;
        return Promise.reject(err);
      }
      return real(...args);
    };
  }
  return out as unknown as WriteSteps;
}

const SECRET = 'pässwörd-canary-7f3a';

interface Scenario {
  name: string;
  /** the destination's directory made ready; returns the content there before */
  prepare(dest: string): string | undefined;
  bytes: Buffer;
  opts: (root: string) => WriteOptions;
  outcome: WriteOutcome;
}

const newBytes = Buffer.from(`S=${SECRET}\n`);
const scenarios: Scenario[] = [
  { name: 'a first write, its directory created', prepare: () => undefined, bytes: newBytes, opts: (root) => ({ mode: 0o600, root }), outcome: 'written' },
  {
    name: 'a change',
    prepare: (dest) => (mkdirSync(path.dirname(dest), { recursive: true }), writeFileSync(dest, 'S=old\n', { mode: 0o600 }), 'S=old\n'),
    bytes: newBytes,
    opts: (root) => ({ mode: 0o600, root, uid: 0 }),
    outcome: 'written',
  },
  {
    name: 'a change of the same size (the current file read)',
    prepare: (dest) => (mkdirSync(path.dirname(dest), { recursive: true }), writeFileSync(dest, newBytes.toString().replace('S=', 'T='), { mode: 0o600 }), newBytes.toString().replace('S=', 'T=')),
    bytes: newBytes,
    opts: (root) => ({ mode: 0o600, root }),
    outcome: 'written',
  },
  {
    name: 'no change',
    prepare: (dest) => (mkdirSync(path.dirname(dest), { recursive: true }), writeFileSync(dest, newBytes, { mode: 0o600 }), newBytes.toString()),
    bytes: newBytes,
    opts: (root) => ({ mode: 0o600, root }),
    outcome: 'unchanged',
  },
  {
    name: 'a mode and owner change',
    prepare: (dest) => (mkdirSync(path.dirname(dest), { recursive: true }), writeFileSync(dest, newBytes, { mode: 0o644 }), newBytes.toString()),
    bytes: newBytes,
    opts: (root) => ({ mode: 0o600, root, gid: 0 }),
    outcome: 'mode-changed',
  },
];

for (const base of [inMemory, threadPool]) {
  t.test(`${base.name} steps: a failure at any step leaves no descriptor, no temp file, the destination old or new`, async (t) => {
    const top = mkdtempSync(path.join(tmpdir(), 'write-failures-'));
    t.teardown(() => rmSync(top, { recursive: true, force: true }));
    let runs = 0;
    for (const sc of scenarios) {
      // a clean run: how often each step is taken in this scenario
      const counted = new Map<Method, number>();
      {
        const root = path.join(top, `clean-${runs++}`);
        const dest = path.join(root, 'conf/app.env');
        mkdirSync(root);
        sc.prepare(dest);
        t.equal(await writeAtomic(dest, sc.bytes, sc.opts(root), injected(base, counted)), sc.outcome, `${sc.name}: a clean run`);
      }
      for (const [method, times] of counted) {
        for (let at = 1; at <= times; at++) {
          const root = path.join(top, `run-${runs++}`);
          const dest = path.join(root, 'conf/app.env');
          mkdirSync(root);
          const before = sc.prepare(dest);
          const fds = openFds();
          const what = `${sc.name}, ${method} #${at} fails`;
          let result: WriteOutcome | AgentError;
          try {
            result = await writeAtomic(dest, sc.bytes, sc.opts(root), injected(base, new Map(), { method, at }));
          } catch (e) {
            result = e as AgentError;
          }
          t.equal(openFds(), fds, `${what}: every descriptor closed`);
          const left = statSync(path.dirname(dest), { throwIfNoEntry: false }) ? readdirSync(path.dirname(dest)).filter((n) => n !== 'app.env') : [];
          t.same(left, [], `${what}: no temp file left`);
          const now = statSync(dest, { throwIfNoEntry: false }) ? readFileSync(dest, 'utf8') : undefined;
          // the check after the rename failing: where the directory is cannot be told, so the new file
          // goes (fail closed, as for a directory moved out of the root); the old one was replaced already
          const checkAfterRename = method === 'readlink' && at === 2;
          t.ok(now === before || now === sc.bytes.toString() || (checkAfterRename && now === undefined), `${what}: the destination is old or new${checkAfterRename ? ' or, unverifiable, gone' : ''}`);
          if (result instanceof Error) {
            t.ok(result instanceof AgentError, `${what}: an AgentError`);
            t.match(result, { code: 'internal', message: `cannot write ${dest}: EIO; check that the output volume is mounted and writable by this user` }, `${what}: the operator message`);
            assertNoLeak(t, [result.message, String(result.stack)], [SECRET]);
          } else {
            // only the steps whose failure changes nothing may be ignored: closing the directory, its
            // fsync, and a realpath (inside-root.ts takes a path it cannot resolve as not there yet:
            // the check of the opened directory still stands)
            t.equal(result, sc.outcome, `${what}: ignored, the write done`);
            t.ok(['fsync', 'close', 'realpath'].includes(method), `${what}: only a close, the directory's fsync or a realpath may fail unnoticed`);
            t.equal(now, sc.bytes.toString(), `${what}: the new content there`);
          }
        }
      }
    }
  });
}
