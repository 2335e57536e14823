// SIGTERM while a re-rendered file is being written: stop() lets that write
// finish (the file holds the complete new content) before it resolves, and
// nothing runs after it (no notifier, no further checks).

import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomic, type WriteOptions } from '../../agent/writer/atomic-write.ts';
import { memoryLoop } from '../helpers/memory-loop.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const PW1 = 'canary-Stop-First-Pw-Rr5Kd1';
const PW2 = 'canary-Stop-Second-Pw-Yy2Nm6';

t.test('stop() waits for the write in flight, then nothing more runs', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let writeStarted!: () => void;
  const started = new Promise<void>((r) => (writeStarted = r));
  const write = async (dest: string, bytes: Buffer, opts: WriteOptions) => {
    writeStarted();
    await gate; // the disk is slow
    return writeAtomic(dest, bytes, opts);
  };
  const { dir, clock, provider, loop, notified, logs: text } = await memoryLoop(t, {
    body: `secrets: { db: { provider: mem } }
templates: [ { contents: "{{db.password}}", destination: pw.txt } ]
output: { root: ./out }
refresh: { interval: 10s, jitter: 0 }
`,
    values: { db: { password: PW1 } },
    write,
  });

  provider.put('db', { password: PW2 });
  await clock.advance(10_000);
  await clock.advance(0);
  await started;
  let stopped = false;
  const stopping = loop.stop().then(() => (stopped = true));
  await new Promise((r) => setTimeout(r, 50));
  t.equal(stopped, false, 'stop waits while the write is in flight');
  release();
  await stopping;
  t.equal(readFileSync(join(dir, 'out/pw.txt'), 'utf8'), PW2, 'the write in flight completed');
  t.equal(notified.length, 0, 'no notifier after the stop began');
  const calls = provider.calls.length;
  await clock.advance(60_000);
  t.equal(provider.calls.length, calls, 'no checks after stop');
  t.equal(clock.pendingTimers, 0, 'no timers left');
  assertNoLeak(t, text(), [PW1, PW2]);
});
