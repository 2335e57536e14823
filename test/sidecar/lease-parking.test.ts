// A lease's renewal is not parked behind static checks that hang: when only
// the static paths hang (a slow KV mount) the flow holds one call and parks
// the rest, but a lease due for renewal gets one call above that bound, so it
// is renewed on its own clock instead of expiring while the statics wait.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../agent/config/load.ts';
import { forgetSecretValues } from '../../agent/log/secret-registry.ts';
import { prepareTemplates } from '../../agent/pipeline/prepare-templates.ts';
import { runInit } from '../../agent/pipeline/init.ts';
import { ManualClock } from '../../agent/scheduler/manual-clock.ts';
import { Health } from '../../agent/server/health.ts';
import { AgentMetrics } from '../../agent/server/metrics.ts';
import { RefreshLoop } from '../../agent/sidecar/refresh-loop.ts';
import { MemoryProvider } from '../fakes/memory-provider.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

const T0 = Date.UTC(2026, 0, 1);
const STATICS = ['s0', 's1', 's2', 's3', 's4', 's5'];
const VALUES = STATICS.map((_, i) => `canary-Lp${i}-Xq9z-Value`);
const LEASED = 'canary-Lease-Pw-7rT2';

const CONFIG = `
providers: { vault: { type: file, path: ./unused } }
secrets:
${STATICS.map((n) => `  ${n}: { provider: vault }`).join('\n')}
  db: { provider: vault }
templates:
  - { contents: "${STATICS.map((n) => `{{${n}.value}}`).join(' ')} {{db.password}}", destination: all.txt }
output: { root: ./out }
refresh: { interval: 10s, jitter: 0.1, backoff: { initial: 10s, max: 5m } }
`;

t.test('static checks hung by the backend do not park a lease renewal past its end', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lease-parking-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new ManualClock(T0);
  const config = parseConfigText(CONFIG, join(dir, 'agent.yaml'), dir);
  const templates = await prepareTemplates(config);
  const provider = new MemoryProvider('vault', () => clock.now());
  STATICS.forEach((n, i) => provider.put(n, { value: VALUES[i]! }));
  provider.put('db', { password: LEASED }, { ttlSeconds: 60, maxTtlSeconds: 3600, renewable: true });
  const { logger, text } = memoryLogger('debug');
  const { store } = await runInit({ config, templates, providers: new Map([['vault', provider as never]]), logger, now: () => clock.now() });
  const health = new Health(clock);
  const metrics = new AgentMetrics({ clock, health, version: 'test' });
  const loop = new RefreshLoop({ config, templates, providers: new Map([['vault', provider as never]]), store, notifiers: [], health, metrics, logger, clock, rand: seededRandom(7) });
  t.teardown(() => forgetSecretValues());
  loop.start();
  // the static reads hang from now on (the fake's renew still answers: the lease path works)
  provider.hang();
  for (let i = 0; i < 90_000 / 250; i++) await clock.advance(250);
  const renewals = provider.log.filter((l) => l.call === 'renew:db').map((l) => l.at - T0);
  t.ok(provider.waiting >= 1 && provider.waiting <= 3, `the hung backend holds ${provider.waiting} static calls`);
  t.ok(renewals.length >= 1 && renewals[0]! < 60_000, `the lease was renewed before its end at 60 s (renewals at ${renewals.join(', ')} ms)`);
  t.equal(health.readiness().ready, true, 'the lease is still valid 90 s on: ready');
  loop.stop();
  provider.resume();
  assertNoLeak(t, text(), [...VALUES, LEASED]);
});
