// The probes the webhook injects cannot take a fleet out of service because
// Vault is slow, throttling or down (docs/fleet.md "Readiness"): no injected
// container has a readinessProbe; liveness asks /healthz (the process and its
// event loop, never a backend); only the native sidecar's startupProbe asks
// /readyz, which gates the app's start on the first render and stops once it
// has passed. And /readyz itself stays 200 for values that are stale but valid.

import t from 'tap';
import type { Container } from '../../agent/webhook/pod-types.ts';
import { ManualClock } from '../../agent/scheduler/manual-clock.ts';
import { Health } from '../../agent/server/health.ts';
import { AgentError } from '../../agent/errors.ts';
import { admit, loadReview } from '../helpers/webhook-admit.ts';

const AGENT_IMAGE = /erlmcp-secrets/;

for (const fixture of ['native-sidecar.json', 'sidecar-job.json', 'init-only.json', 'exec.json']) {
  t.test(`${fixture}: no injected readiness probe; liveness on /healthz; /readyz only as a startup gate`, async (t) => {
    const { pod } = admit(loadReview(fixture));
    const injected = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].filter((c: Container) => AGENT_IMAGE.test(c.name));
    t.ok(injected.length > 0, `the agent's containers: ${injected.map((c) => c.name).join(', ')}`);
    for (const c of injected) {
      t.notOk(c.readinessProbe, `${c.name}: no readinessProbe (a slow Vault must not turn every pod not ready)`);
      if (c.livenessProbe) t.match(c.livenessProbe, { httpGet: { path: '/healthz' } }, `${c.name}: liveness asks /healthz, not a backend`);
      if (c.startupProbe) {
        t.match(c.startupProbe, { httpGet: { path: '/readyz' } }, `${c.name}: startup waits for the first render`);
        t.equal(c.restartPolicy, 'Always', 'only on the native sidecar, where it runs until the first success and never again');
      }
    }
  });
}

t.test('/readyz under a slow or throttling Vault: stale static values keep the pod ready; an expired lease does not', async (t) => {
  const clock = new ManualClock(0);
  const h = new Health(clock);
  h.markRendered();
  h.markFresh('cookie', 0, 20_000); // static, ttl 20 s
  h.markFresh('dbcreds', 0, 60_000, 60_000); // a 60 s lease
  await clock.advance(30_000);
  h.markError('cookie', new AgentError('unavailable', 'rate limited (HTTP 429)', { throttled: true }));
  t.equal(h.readiness().ready, true, 'throttled past the ttl: still ready (the value is still valid)');
  await clock.advance(30_000);
  t.equal(h.readiness().ready, false, 'the lease ended unrenewed: its credentials no longer work');
});
