// A value issued on write (a certificate) in the refresh loop, under a manual
// clock: it is issued again at ~2/3 of its lifetime and never on the poll
// interval or SIGHUP; a failed issue is retried with the configured backoff,
// the files keeping the last good certificate; /readyz goes stale only when
// the certificate has expired without a new one.

import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../agent/config/load.ts';
import { AgentError } from '../../agent/errors.ts';
import { runInit } from '../../agent/pipeline/init.ts';
import { prepareTemplates } from '../../agent/pipeline/prepare-templates.ts';
import type { Provider, SecretValue } from '../../agent/providers/provider.ts';
import type { Notifier } from '../../agent/reload/notifier.ts';
import { ManualClock } from '../../agent/scheduler/manual-clock.ts';
import { Health } from '../../agent/server/health.ts';
import { AgentMetrics } from '../../agent/server/metrics.ts';
import { RefreshLoop } from '../../agent/sidecar/refresh-loop.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';

const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);

/** issues "cert-N" valid for 24 h from the moment of issue; can be told to fail */
class IssuingProvider {
  readonly type = 'fake';
  readonly name = 'pki';
  issuedCount = 0;
  changedCount = 0;
  failWith: AgentError | undefined;
  private readonly now: () => number;
  /** NotBefore..NotAfter of each certificate: 24 h from the moment of issue unless given */
  private readonly window: (now: number) => { from: number; until: number };
  constructor(now: () => number, window = (at: number) => ({ from: at, until: at + 24 * H })) {
    this.now = now;
    this.window = window;
  }
  issues(): boolean {
    return true;
  }
  async fetch(): Promise<SecretValue> {
    if (this.failWith) throw this.failWith;
    this.issuedCount++;
    return { data: { certificate: `cert-${this.issuedCount}` }, issued: { ...this.window(this.now()), fraction: 2 / 3, basis: 'certificate' } };
  }
  async changed(): Promise<boolean> {
    this.changedCount++;
    return false;
  }
  describe(): string {
    return 'fake pki';
  }
  async close(): Promise<void> {}
}

/** the refresh loop over one issued secret `tls` rendered into out/tls.crt, with a recording reload */
async function startIssuing(t: Test, window?: (now: number) => { from: number; until: number }) {
  const dir = mkdtempSync(join(tmpdir(), 'reissue-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new ManualClock(T0);
  const config = parseConfigText(
    `providers: { pki: { type: file, path: ./unused } }
secrets: { tls: { provider: pki } }
templates: [ { contents: "{{tls.certificate}}", destination: tls.crt } ]
output: { root: ./out }
refresh: { interval: 10s, jitter: 0, backoff: { initial: 10s, max: 80s } }
`,
    join(dir, 'agent.yaml'),
    dir,
  );
  const templates = await prepareTemplates(config);
  const provider = new IssuingProvider(() => clock.now(), window);
  const providers = new Map<string, Provider>([['pki', provider as unknown as Provider]]);
  const { logger } = memoryLogger('debug');
  const { store } = await runInit({ config, templates, providers, logger, now: () => clock.now() });
  const notified: number[] = [];
  const notifier: Notifier = { kind: 'fake', timeoutMs: 5000, describe: () => 'record', notify: async () => (notified.push(clock.now()), { ok: true, detail: 'recorded', durationMs: 0 }) };
  const health = new Health(clock);
  const metrics = new AgentMetrics({ clock, health, version: 'test' });
  const loop = new RefreshLoop({ config, templates, providers, store, notifiers: [notifier], health, metrics, logger, clock, rand: () => 0 });
  loop.start();
  t.teardown(() => loop.stop());
  const advance = async (ms: number): Promise<void> => {
    await clock.advance(ms);
    await loop.idle();
  };
  return { clock, provider, loop, health, metrics, notified, advance, crt: join(dir, 'out/tls.crt') };
}

t.test('issued again on the certificate clock; poll interval and SIGHUP never issue; failures back off', async (t) => {
  const { clock, provider, loop, health, metrics, notified, advance, crt } = await startIssuing(t);

  t.equal(provider.issuedCount, 1, 'init issued one');
  t.same(loop.nextCheck('tls'), { at: T0 + 16 * H, kind: 'leased' }, '2/3 of 24 h (rand 0: no jitter)');
  rmSync(crt);
  await advance(11_000);
  t.equal(readFileSync(crt, 'utf8'), 'cert-1', 'a deleted file is put back within the refresh interval, though no secret is checked on it');
  for (let i = 0; i < 60; i++) await advance(60_000); // an hour of 10 s poll intervals
  loop.recheck(); // SIGHUP
  await advance(1000);
  t.equal(provider.issuedCount, 1, 'an hour of polls and a SIGHUP issued nothing');
  t.equal(provider.changedCount, 0, 'nor asked the backend anything');
  t.match((await metrics.text()), /erlmcp_secrets_expiry_seconds\{kind="certificate",name="tls"\} 82[0-9]{3}/, 'the certificate expiry is a metric (23 h left)');

  await clock.advanceTo(T0 + 16 * H);
  await loop.idle();
  await advance(0);
  t.equal(provider.issuedCount, 2, 'issued again at 2/3 of the lifetime');
  t.equal(readFileSync(crt, 'utf8'), 'cert-2', 'the new certificate is rendered');
  t.equal(notified.length, 1, 'and the reload ran');
  const next = T0 + 16 * H + 16 * H;
  t.same(loop.nextCheck('tls'), { at: next, kind: 'leased' }, 'the next one on the new certificate');

  provider.failWith = new AgentError('unavailable', 'pki down', { retryable: true });
  await clock.advanceTo(next);
  await loop.idle();
  const retries: number[] = [];
  for (let i = 0; i < 4; i++) {
    const n = loop.nextCheck('tls')!;
    retries.push(n.at - clock.now());
    await clock.advanceTo(n.at);
    await loop.idle();
  }
  // the first retry is full jitter in [0, backoff.initial] (over the scheduler's
  // 1 s floor), so a fleet does not come back as one wave; the backend then
  // counts as down and later tries are probes at backoff (docs/fleet.md)
  t.ok(retries[0]! >= 1_000 && retries[0]! <= 10_000, `first retry within the full-jitter window, 1-10 s (${retries[0]} ms)`);
  t.ok(retries.slice(1).every((ms) => ms >= 1_000 && ms <= 80_000), `then retried with backoff, 1-80 s apart (${retries.join(', ')} ms)`);
  t.ok(retries.slice(1).reduce((a, b) => a + b, 0) >= 10_000, 'not a tight loop: the three later tries span at least 10 s');
  t.equal(provider.issuedCount, 2, 'no certificate issued while failing');
  t.equal(readFileSync(crt, 'utf8'), 'cert-2', 'the files keep the last good certificate');
  t.same(health.readiness().stale, [], 'not stale while the certificate is valid');

  await clock.advanceTo(T0 + 16 * H + 24 * H + 1000);
  t.same(health.readiness().stale.map((s) => s.secret), ['tls'], 'stale once it expired without a new one');
  provider.failWith = undefined;
  await clock.advanceTo(loop.nextCheck('tls')!.at);
  await loop.idle();
  await advance(0);
  t.equal(provider.issuedCount, 3, 'issued once the PKI is back');
  t.equal(readFileSync(crt, 'utf8'), 'cert-3');
  t.same(health.readiness().stale, []);
});

t.test("a PKI whose clock is behind (or that back-dates NotBefore far): each new certificate is not issued again at once, in a loop", async (t) => {
  // NotBefore 20 h before our now, NotAfter 4 h after it: 2/3 of the
  // lifetime is already past when the certificate arrives
  const { provider, advance } = await startIssuing(t, (now) => ({ from: now - 20 * H, until: now + 4 * H }));
  for (let i = 0; i < 60; i++) await advance(60_000);
  t.equal(provider.issuedCount, 1, `an hour later, still the one certificate of init (issued ${provider.issuedCount})`);
  for (let i = 0; i < 120; i++) await advance(60_000);
  t.equal(provider.issuedCount, 2, 'issued again once, before the certificate runs out (at 2/3 of what was left)');
});
