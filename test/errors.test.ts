import t from 'tap';
import { AgentError } from '../agent/errors.ts';

t.test('AgentError keeps code, retryability, problems and the retry hint', async (t) => {
  const e = new AgentError('unavailable', 'x', { retryAfterMs: 5000 });
  t.same([e.code, e.retryable, e.problems, e.retryAfterMs], ['unavailable', true, ['x'], 5000]);
  t.equal(new AgentError('auth', 'no').retryable, false, 'only unavailable retries by default');
  t.same([e.throttled, new AgentError('unavailable', 'y', { throttled: true }).throttled], [false, true], 'throttled only when said');
});
