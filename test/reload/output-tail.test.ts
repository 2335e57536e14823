// The reload exec notifier shows the end of a failed command's output. A
// command that echoes a rendered file (a config dump, a `cat` in a script)
// may print a secret; the tail is scrubbed of registered values as a whole
// before it is cut, so neither a short value nor a long one (a key or a
// certificate chain of several KiB) that straddles the kept window's edge
// is shown in part.

import t from 'tap';
import { OutputTail } from '../../agent/reload/output-tail.ts';
import { forgetSecretValues, registerSecretValue } from '../../agent/log/secret-registry.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

t.afterEach(() => forgetSecretValues());

/** a secret of `n` characters that no slice of the filler or the message can match */
const secret = (n: number, seed: string) => Array.from({ length: Math.ceil(n / seed.length) }, (_, i) => `${seed}${i.toString(36)}`).join('').slice(0, n);

t.test('a value echoed just before the error line is redacted whole', async (t) => {
  const pw = 'CANARY-tail-Pw7Zq2Lm';
  registerSecretValue(pw);
  const tail = new OutputTail();
  tail.push(Buffer.from(`starting\npassword=${pw}\nerror: reload refused\n`));
  t.equal(tail.text(), 'starting | password=[REDACTED] | error: reload refused');
});

t.test('a 6 KiB value that straddles where a 4 KiB window would have begun is not shown in part', async (t) => {
  const big = secret(6 * 1024, 'CANARYbigKEY');
  registerSecretValue(big);
  const out = Buffer.from(`${'x'.repeat(100_000)}\n-----\n${big}\nerror: reload refused\n`);
  const feed = (tail: OutputTail) => {
    // in pieces, as a pipe delivers it
    for (let i = 0; i < out.length; i += 1000) tail.push(out.subarray(i, i + 1000));
    return tail.text();
  };
  const shown = feed(new OutputTail());
  t.ok(shown.endsWith('----- | [REDACTED] | error: reload refused'), 'redacted whole');
  assertNoLeak(t, shown, [big]);
  // the window this replaced: the value's start fell outside it, so the
  // scrub could not match it whole and its end was shown
  t.match(feed(new OutputTail(4096)), big.slice(-150), 'a 4 KiB window would have shown its end');
});

t.test('output longer than the window keeps only its end, and the text shown stays short', async (t) => {
  const tail = new OutputTail(1024);
  tail.push(Buffer.from(`${'a'.repeat(5000)}\nlast line`));
  const shown = tail.text(50);
  t.equal(shown.length, 51, '50 characters and the ellipsis');
  t.ok(shown.endsWith('a | last line'));
  t.ok(shown.startsWith('…'));
});
