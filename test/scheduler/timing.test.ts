import t from 'tap';
import {
  nextStaticCheck,
  nextLeaseAction,
  nextTokenAction,
  nextBackoff,
  nextDecorrelatedBackoff,
  leaseExpiresAt,
} from '../../agent/scheduler/timing.ts';
import type { Lease } from '../../agent/providers/provider.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

// deterministic PRNG so "many seeds" is reproducible
const seeded = seededRandom;

const T0 = Date.UTC(2026, 0, 1);

t.test('static checks spread within ±jitter of the interval', async (t) => {
  const seen: number[] = [];
  for (let seed = 1; seed <= 500; seed++) {
    const at = nextStaticCheck(T0, 300_000, 0.1, seeded(seed));
    t.ok(at >= T0 + 270_000 && at <= T0 + 330_000, `seed ${seed}: ${at - T0} within [270000, 330000]`, { diagnostic: false });
    seen.push(at);
  }
  // jitter actually spreads: not all seeds give the same time
  t.ok(new Set(seen).size > 400, 'distinct times across seeds');
  t.equal(nextStaticCheck(T0, 60_000, 0, Math.random), T0 + 60_000, 'no jitter: exact interval');
  t.equal(nextStaticCheck(T0, 60_000, 0.5, () => 0), T0 + 30_000, 'rand 0: lower edge');
});

t.test('renewable lease renews at 2/3 of its TTL pulled earlier by 10-20%', async (t) => {
  const lease: Lease = { id: 'database/creds/erlmcp/abc', ttlSeconds: 3600, renewable: true, obtainedAt: T0 };
  const lo = T0 + 3600_000 * (2 / 3) * 0.8;
  const hi = T0 + 3600_000 * (2 / 3) * 0.9;
  let inWindow = 0;
  const ats = new Set<number>();
  for (let seed = 1; seed <= 1000; seed++) {
    const a = nextLeaseAction(lease, T0 + 1000, { rand: seeded(seed) });
    if (a.action === 'renew' && a.at >= Math.floor(lo) && a.at <= Math.ceil(hi)) inWindow++;
    ats.add(a.at);
  }
  t.equal(inWindow, 1000, 'every seed: renew inside [53.3%, 60%] of the TTL');
  t.ok(ats.size > 900, 'renewal times are spread');
  const custom = nextLeaseAction(lease, T0, { rand: () => 0, fraction: 0.5 });
  t.same(custom.action, 'renew');
  t.equal(custom.at, T0 + 3600_000 * 0.5 * 0.9, 'fraction 0.5, rand 0: 45% of TTL');
});

t.test('a renewal due in the past is scheduled now', async (t) => {
  const lease: Lease = { id: 'l', ttlSeconds: 60, renewable: true, obtainedAt: T0 };
  const a = nextLeaseAction(lease, T0 + 50_000, { rand: () => 0.5 });
  t.same(a, { action: 'renew', at: T0 + 50_000, reason: 'renewable lease' });
});

t.test('non-renewable lease: refetch at 80-90% of the remaining time', async (t) => {
  const lease: Lease = { id: 'l', ttlSeconds: 1000, renewable: false, obtainedAt: T0 };
  const now = T0 + 200_000; // 800 s left
  for (let seed = 1; seed <= 300; seed++) {
    const a = nextLeaseAction(lease, now, { rand: seeded(seed) });
    t.equal(a.action, 'refetch', 'refetch', { diagnostic: false });
    t.ok(a.at >= now + 640_000 && a.at <= now + 720_000, `seed ${seed}`, { diagnostic: false });
    t.ok(a.at < leaseExpiresAt(lease), 'before expiry', { diagnostic: false });
  }
  t.match(nextLeaseAction(lease, now, { rand: () => 0 }).reason, /not renewable/);
});

t.test('capped lease (renewal came back shorter than asked): refetch before expiry', async (t) => {
  // asked for 3600 s, the backend granted 900 s because max_ttl is near
  const lease: Lease = { id: 'l', ttlSeconds: 900, renewable: true, obtainedAt: T0 };
  for (let seed = 1; seed <= 300; seed++) {
    const a = nextLeaseAction(lease, T0, { rand: seeded(seed), requestedTtlSeconds: 3600 });
    t.equal(a.action, 'refetch', 'refetch', { diagnostic: false });
    t.ok(a.at >= T0 + 720_000 && a.at <= T0 + 810_000, `seed ${seed}: 80-90% of 900 s`, { diagnostic: false });
  }
  const a = nextLeaseAction(lease, T0, { rand: () => 0.5, requestedTtlSeconds: 3600 });
  t.match(a.reason, /capped at 900s \(asked 3600s\)/);
  t.equal(nextLeaseAction(lease, T0, { rand: () => 0.5, requestedTtlSeconds: 900 }).action, 'renew', 'full grant: keep renewing');
});

t.test('expired or zero-TTL lease: refetch now', async (t) => {
  t.same(nextLeaseAction({ id: 'l', ttlSeconds: 10, renewable: true, obtainedAt: T0 }, T0 + 10_000, { rand: () => 0.3 }), {
    action: 'refetch',
    at: T0 + 10_000,
    reason: 'lease expired',
  });
  t.equal(nextLeaseAction({ id: 'l', ttlSeconds: 0, renewable: true, obtainedAt: T0 }, T0, { rand: () => 0.3 }).at, T0);
});

t.test('token: renew-self, relogin when not renewable or capped, none when it never expires', async (t) => {
  const renew = nextTokenAction({ ttlSeconds: 3600, renewable: true, obtainedAt: T0, requestedTtlSeconds: 3600 }, T0, { rand: () => 0 });
  t.same(renew, { action: 'renew-self', at: T0 + 2_160_000, reason: 'renewable token' });
  const notRenewable = nextTokenAction({ ttlSeconds: 100, renewable: false, obtainedAt: T0 }, T0, { rand: () => 1 });
  t.equal(notRenewable.action, 'relogin');
  t.match((notRenewable as { reason: string }).reason, /token is not renewable/);
  t.equal((notRenewable as { at: number }).at, T0 + 90_000);
  const capped = nextTokenAction({ ttlSeconds: 120, renewable: true, obtainedAt: T0, requestedTtlSeconds: 3600 }, T0, { rand: () => 0 });
  t.equal(capped.action, 'relogin', 'renewal stopped extending: log in again');
  t.equal((capped as { at: number }).at, T0 + 96_000);
  t.same(nextTokenAction({ ttlSeconds: 0, renewable: false, obtainedAt: T0 }, T0, { rand: () => 0 }), { action: 'none', reason: 'token does not expire' });
});

t.test('backoff grows exponentially within [initial, initial*2^n] and stops at max', async (t) => {
  t.equal(nextBackoff(0, 10_000, 300_000, () => 0.99), 10_000, 'attempt 0 waits initial');
  for (let attempt = 1; attempt <= 10; attempt++) {
    const ceiling = Math.min(300_000, 10_000 * 2 ** attempt);
    t.equal(nextBackoff(attempt, 10_000, 300_000, () => 1), ceiling, `attempt ${attempt}: rand 1 -> ceiling ${ceiling}`);
    t.equal(nextBackoff(attempt, 10_000, 300_000, () => 0), 10_000, `attempt ${attempt}: rand 0 -> initial`);
    for (let seed = 1; seed <= 50; seed++) {
      const d = nextBackoff(attempt, 10_000, 300_000, seeded(seed * attempt));
      t.ok(d >= 10_000 && d <= ceiling, `attempt ${attempt} seed ${seed}`, { diagnostic: false });
    }
  }
  t.equal(nextBackoff(1000, 10_000, 300_000, () => 1), 300_000, 'huge attempt numbers stay at max');
  t.equal(nextBackoff(3, 500, 200, () => 0.5), 200, 'initial above max: max');
});

t.test('decorrelated backoff stays in [initial, max] and can grow', async (t) => {
  let d = 10_000;
  let maxSeen = 0;
  const rand = seeded(42);
  for (let i = 0; i < 200; i++) {
    d = nextDecorrelatedBackoff(d, 10_000, 300_000, rand);
    t.ok(d >= 10_000 && d <= 300_000, `step ${i}`, { diagnostic: false });
    maxSeen = Math.max(maxSeen, d);
  }
  t.equal(nextDecorrelatedBackoff(200_000, 10_000, 300_000, () => 1), 300_000, 'capped at max');
  t.ok(maxSeen > 100_000, 'grew well past initial');
});
