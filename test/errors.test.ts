import t from 'tap';
import { AgentError, parseRetryAfter } from '../agent/errors.ts';

t.test('Retry-After: seconds or an HTTP date', async (t) => {
  const now = Date.parse('2026-11-29T08:00:00Z');
  t.equal(parseRetryAfter('7', now), 7000);
  t.equal(parseRetryAfter(' 0 ', now), 0);
  t.equal(parseRetryAfter('Sun, 29 Nov 2026 08:01:30 GMT', now), 90_000);
  t.equal(parseRetryAfter('Sun, 29 Nov 2026 07:00:00 GMT', now), 0, 'a date in the past means now');
  for (const bad of [undefined, null, '', 'soon', '-5', '1.5']) t.equal(parseRetryAfter(bad, now), undefined, `${JSON.stringify(bad)} is ignored`);
});

t.test('AgentError keeps code, retryability, problems and the retry hint', async (t) => {
  const e = new AgentError('unavailable', 'x', { retryAfterMs: 5000 });
  t.same([e.code, e.retryable, e.problems, e.retryAfterMs], ['unavailable', true, ['x'], 5000]);
  t.equal(new AgentError('auth', 'no').retryable, false, 'only unavailable retries by default');
});
