// The init gate and a backend's Retry-After: honoured when it fits in what is
// left of init.timeout; when it does not, init fails at once with a message
// that says so, instead of sleeping out the rest of the timeout.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentError } from '../../agent/errors.ts';
import { parseConfigText } from '../../agent/config/load.ts';
import { fetchAll } from '../../agent/pipeline/fetch-all.ts';
import { MemoryProvider } from '../fakes/memory-provider.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const VALUE = 'CANARY-retry-after-7h3k9m2p4q';

async function setup(t: Test, retryAfterMs: number | undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'fetch-all-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = parseConfigText(
    'providers: { vault: { type: file, path: ./s } }\nsecrets: { db: { provider: vault } }\ninit: { timeout: 60s, backoff: { initial: 1s, max: 4s } }\n',
    join(dir, 'agent.yaml'),
    dir,
  );
  let clock = 1_000_000;
  const slept: number[] = [];
  const provider = new MemoryProvider('vault', () => clock);
  provider.put('db', { password: VALUE });
  const throttled = new AgentError('unavailable', 'vault provider "vault": Vault is rate limiting requests (HTTP 429)', { throttled: true, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  provider.failNext('db', throttled, 1);
  const { logger, text } = memoryLogger('debug');
  const result = await fetchAll({
    config,
    providers: new Map([['vault', provider as never]]),
    logger,
    deadline: clock + config.init.timeout,
    now: () => clock,
    sleep: async (ms) => {
      slept.push(ms);
      clock += ms;
    },
    random: () => 0.5,
  });
  return { result, slept, logs: text, calls: () => provider.calls.filter((c) => c.endsWith(':db')).length };
}

t.test('a Retry-After that fits in init.timeout is waited for, then the fetch succeeds', async (t) => {
  const s = await setup(t, 20_000);
  t.same(s.slept, [20_000], 'waited the 20 s the backend asked for, not the 1 s backoff');
  t.equal(s.result.values.get('db')?.data.password, VALUE);
  t.equal(s.calls(), 2);
  assertNoLeak(t, s.logs(), [VALUE]);
});

t.test('a Retry-After beyond what is left of init.timeout fails at once, saying so', async (t) => {
  const s = await setup(t, 90_000);
  t.same(s.slept, [], 'no sleeping out the timeout');
  t.equal(s.calls(), 1, 'one call');
  const err = s.result.failures.get('db')!;
  t.equal(err.code, 'unavailable');
  t.equal(err.retryable, false);
  t.equal(
    err.message,
    'vault provider "vault": Vault is rate limiting requests (HTTP 429); it asks for 90 s, more than the 60 s left of init.timeout (1m), so init stops now: raise init.timeout, or let the init container restart later',
  );
  assertNoLeak(t, [s.logs(), err.message], [VALUE]);
});

t.test('no Retry-After: the backoff as before', async (t) => {
  const s = await setup(t, undefined);
  t.equal(s.slept.length, 1);
  t.ok(s.slept[0]! >= 1000 && s.slept[0]! <= 2000, `a backoff wait of ${s.slept[0]} ms`);
  t.equal(s.result.values.get('db')?.data.password, VALUE);
});
