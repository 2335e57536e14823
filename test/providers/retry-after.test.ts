import t from 'tap';
import { parseRetryAfter, parseRetryAfterMs } from '../../agent/providers/retry-after.ts';

const now = Date.parse('2026-11-29T08:00:00Z');

t.test('delta-seconds', async (t) => {
  t.equal(parseRetryAfter('7', now), 7000);
  t.equal(parseRetryAfter(' 0 ', now), 0, 'Vault rounds a sub-second wait down to 0');
  t.equal(parseRetryAfter('86400', now), 86_400_000);
});

t.test('an HTTP date, relative to now', async (t) => {
  t.equal(parseRetryAfter('Sun, 29 Nov 2026 08:01:30 GMT', now), 90_000);
  t.equal(parseRetryAfter('Sun, 29 Nov 2026 08:01:30 UTC', now), 90_000, "Go's time.RFC1123 of a UTC time, as older Vault quotas wrote it");
  t.equal(parseRetryAfter('Sun, 29 Nov 2026 07:00:00 GMT', now), 0, 'a date in the past means now');
  // without `now`, the clock: a date a minute ahead (whole seconds, so up to 59 s left)
  const left = parseRetryAfter(new Date(Date.now() + 60_000).toUTCString());
  t.ok(left !== undefined && left > 58_000 && left <= 60_000, `a minute ahead leaves about a minute (${left} ms)`);
});

t.test('anything else is ignored, never guessed at', async (t) => {
  for (const bad of [undefined, null, '', '  ', 'soon', '-5', '1.5', '5s', '0x10', 'Sun, 29 Nov 2026 08:01:30 CET', '2026-11-29T08:01:30Z', 'Sun, 29 Nov 2026 08:01:30']) {
    t.equal(parseRetryAfter(bad, now), undefined, `${JSON.stringify(bad)} is ignored`);
  }
});

t.test('milliseconds headers (Azure): whole milliseconds only', async (t) => {
  t.equal(parseRetryAfterMs('1500'), 1500);
  t.equal(parseRetryAfterMs(' 0 '), 0);
  for (const bad of [undefined, null, '', '1.5', '-1', 'soon', '1e3']) t.equal(parseRetryAfterMs(bad), undefined, `${JSON.stringify(bad)} is ignored`);
});
