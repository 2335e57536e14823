// revokeLeases: all leases at once, failures and slowness logged and never
// thrown, a bound on how long a stop or a failed run waits for them. The
// real-server side (database leases gone after a failed init, after plan, on
// shutdown) is in test/vault-real/database.test.ts.

import t from 'tap';
import { revokeLeases } from '../../agent/pipeline/revoke-leases.ts';
import type { Provider, SecretValue } from '../../agent/providers/provider.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';

const CANARY = 'canary-Pw-7f3e91';
const leased = (id: string): SecretValue => ({ data: { password: CANARY }, lease: { id, ttlSeconds: 60, renewable: true, obtainedAt: 0 } });
const staticValue: SecretValue = { data: { password: CANARY } };

function provider(name: string, revoke: (v: SecretValue) => Promise<void>): Provider {
  return { name, revoke } as unknown as Provider;
}

t.test('every lease is revoked at once; values without a lease and providers without revoke are left alone', async (t) => {
  const seen: string[] = [];
  let inFlight = 0;
  let most = 0;
  const slowOk = provider('vault', async (v) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((r) => setTimeout(r, 20));
    inFlight--;
    seen.push(v.lease!.id);
  });
  const noRevoke = { name: 'file' } as unknown as Provider;
  const m = memoryLogger();
  await revokeLeases(
    [['a', leased('l-a')], ['b', leased('l-b')], ['s', staticValue], ['f', leased('l-f')]],
    { config: { secrets: { a: { provider: 'vault' }, b: { provider: 'vault' }, s: { provider: 'vault' }, f: { provider: 'file' } } }, providers: new Map([['vault', slowOk], ['file', noRevoke]]), logger: m.logger },
    'as unused: init failed',
  );
  t.same(seen.sort(), ['l-a', 'l-b']);
  t.equal(most, 2, 'in parallel, not one after the other');
  t.equal(m.text().split('lease revoked as unused: init failed').length - 1, 2, 'each revocation logged');
  t.notMatch(m.text(), CANARY, 'no value in the log');
});

t.test('a failing revoke is a warning; a hung one is given up after the budget', async (t) => {
  const failing = provider('vault', async () => {
    throw Object.assign(new Error(`permission denied (${CANARY} must not show)`), { code: 'EACCES' });
  });
  const hung = provider('hung', () => new Promise<void>(() => {}));
  const m = memoryLogger();
  const started = Date.now();
  await revokeLeases(
    [['a', leased('l-a')], ['h', leased('l-h')]],
    { config: { secrets: { a: { provider: 'vault' }, h: { provider: 'hung' } } }, providers: new Map([['vault', failing], ['hung', hung]]), logger: m.logger },
    'on shutdown',
    100,
  );
  const took = Date.now() - started;
  t.ok(took >= 90 && took < 5_000, `returned after the budget, not never (${took} ms)`);
  t.match(m.text(), /lease revoke on shutdown failed; it expires by its TTL/);
  t.match(m.text(), /revoking leases on shutdown took longer than 100 ms; those not yet revoked expire by their TTL/);
  t.notMatch(m.text(), CANARY, 'no value in the log, not even through an error message');
});
