// Per-secret phases, full-jitter retries and the recovery window
// (agent/scheduler/timing.ts): pure functions swept with a seeded random.
import t from 'tap';
import { firstStaticSlot, MIN_CHECK_GAP_MS, nextBackoff, nextStaticSlot, RECOVERY_HOLD_OFF_MS, recoveryRetryAt, recoverySpreadMs, retryDelay, slotNotBefore } from '../../agent/scheduler/timing.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

const I = 10_000;

/** busiest second / mean second of a list of epoch-ms times within [from, from + span) */
function peakOverMean(times: number[], from: number, span: number): number {
  const buckets = new Array<number>(Math.ceil(span / 1000)).fill(0);
  for (const at of times) buckets[Math.floor((at - from) / 1000)]!++;
  return Math.max(...buckets) / (times.length / buckets.length);
}

t.test('a fleet started together: first checks spread over one interval, not one burst', async (t) => {
  const rand = seededRandom(19);
  const firsts: number[] = [];
  for (let agent = 0; agent < 50; agent++) for (let secret = 0; secret < 7; secret++) firsts.push(firstStaticSlot(0, I, rand));
  t.ok(firsts.every((at) => at >= I / 2 && at <= (3 * I) / 2), 'each within half to one and a half intervals (none right after init)');
  const ratio = peakOverMean(firsts, I / 2, I);
  t.ok(ratio <= 2, `busiest second / mean second ${ratio.toFixed(2)} <= 2 (a burst would be 10)`);
});

t.test('slots keep their phase: a late or slow check does not push the next one', async (t) => {
  const rand = seededRandom(7);
  let slot = 12_345;
  const slots = [slot];
  for (let i = 0; i < 200; i++) {
    const late = rand() * 3_000; // the check started and ended up to 3 s late (load, slow backend)
    slot = nextStaticSlot(slot, slot + late, I, 0.1, rand);
    slots.push(slot);
  }
  const gaps = slots.slice(1).map((x, i) => x - slots[i]!);
  t.ok(gaps.every((g) => g >= 0.9 * I && g <= 1.1 * I), `every gap within the interval ± jitter (${Math.min(...gaps)}..${Math.max(...gaps)} ms)`);
  t.equal(nextStaticSlot(10_000, 10_000, I, 0, () => 0.5), 20_000, 'jitter 0: exactly one interval');
});

t.test('a check that ran late keeps the next slot (a 1 s interval, checks ending up to 0.6 s late): no gap of two intervals', async (t) => {
  const rand = seededRandom(11);
  const second = 1_000;
  let slot = 5_000;
  const starts: number[] = [];
  for (let i = 0; i < 500; i++) {
    const late = rand() * 600; // started late on a busy node, and the call took its time (half an interval would have skipped past 0.4-0.6 s)
    starts.push(slot + late / 2);
    slot = nextStaticSlot(slot, slot + late, second, 0.1, rand);
  }
  const slotGaps = starts.slice(1).map((x, i) => x - starts[i]!);
  t.ok(Math.max(...slotGaps) < 1.6 * second, `longest gap between starts ${Math.max(...slotGaps).toFixed(0)} ms: one interval + jitter + lateness, never two intervals`);
});

t.test('after a gap (outage, retry, push) the next slot is on the same phase; a late check keeps the next slot', async (t) => {
  const mid = () => 0.5;
  t.equal(slotNotBefore(10_000, 16_000, I), 16_000 + MIN_CHECK_GAP_MS.static, 'within an interval of its slot: the static floor');
  t.equal(slotNotBefore(1_000, 1_150, 200), 1_250, 'a 200 ms interval: the floor is half of it');
  t.equal(slotNotBefore(10_000, 47_000, I), 52_000, 'later (a retry, a recovery): half an interval');
  t.equal(nextStaticSlot(10_000, 47_000, I, 0, mid), 60_000, 'whole intervals from the old slot, at least half an interval ahead');
  t.equal(nextStaticSlot(10_000, 16_000, I, 0, mid), 20_000, 'the check of a slot ended late: the next slot is kept');
  t.equal(nextStaticSlot(10_000, 19_900, I, 0, mid), 30_000, 'a slot within the floor is skipped');
  t.equal(nextStaticSlot(1_000, 1_150, 200, 0, mid), 1_400, 'a 200 ms interval');
  t.equal(nextStaticSlot(10_000, 11_000, I, 0, mid, 45_000), 50_000, 'notBefore (a throttled retry) rounds up to a slot');
  t.equal(nextStaticSlot(Number.NaN, 5_000, I, 0, mid), 15_000, 'a slot that is not a number: one interval from now');
});

t.test('retries: the first is full jitter over [0, initial], later ones as nextBackoff', async (t) => {
  const rand = seededRandom(3);
  const firsts = Array.from({ length: 1000 }, () => retryDelay(0, 10_000, 300_000, rand));
  t.ok(firsts.every((d) => d >= 0 && d <= 10_000), 'within [0, initial]');
  const ratio = peakOverMean(firsts, 0, 10_000);
  t.ok(ratio < 1.5, `a fleet's first retries spread evenly over the 10 s (busiest second / mean ${ratio.toFixed(2)})`);
  t.equal(retryDelay(0, 10_000, 4_000, () => 1), 4_000, 'never above max');
  for (const attempt of [1, 3, 9]) {
    const r = seededRandom(attempt);
    const s = seededRandom(attempt);
    t.equal(retryDelay(attempt, 10_000, 300_000, r), nextBackoff(attempt, 10_000, 300_000, s), `attempt ${attempt}: the existing backoff`);
  }
});

t.test('the recovery window: one interval, within 1-30 s', async (t) => {
  t.equal(recoverySpreadMs(10_000), 10_000);
  t.equal(recoverySpreadMs(500), 1_000);
  t.equal(recoverySpreadMs(300_000), 30_000);
});

t.test('recovery retries: after an outage they start a second after the first answer, out of the burst of held calls', async (t) => {
  const now = 1_000_000;
  t.equal(recoveryRetryAt(now, 10_000, Infinity, () => 0), now + RECOVERY_HOLD_OFF_MS, 'a failed check: not in the second the held calls land');
  t.equal(recoveryRetryAt(now, 10_000, 30_000, () => 1), now + RECOVERY_HOLD_OFF_MS + 10_000, 'parked through an outage: spread over one interval after the hold-off');
  t.equal(recoveryRetryAt(now, 10_000, 10_000, () => 0.5), now + RECOVERY_HOLD_OFF_MS + 5_000, 'parked as long as the window: an outage too');
  t.equal(recoveryRetryAt(now, 10_000, 1_500, () => 1), now + 1_500, 'parked behind one slow call: back within the time it waited, no hold-off');
  t.equal(recoveryRetryAt(now, 10_000, 1_500, () => 0), now);
  // an outage shorter than the interval still ends with every agent's held call answered at once
  t.equal(recoveryRetryAt(now, 10_000, 8_000, () => 0), now + RECOVERY_HOLD_OFF_MS, 'parked 8 s of a 10 s interval: an outage, held off too');
  t.equal(recoveryRetryAt(now, 30_000, 20_000, () => 1), now + RECOVERY_HOLD_OFF_MS + 30_000, '...spread over the whole window');
  const short = Array.from({ length: 200 }, (_, i) => recoveryRetryAt(now, 30_000, 1_000 + ((i % 20) * 1_000), () => (i % 10) / 9) - now);
  const inFirstSecond = short.filter((d) => d < 1_000).length;
  t.ok(inFirstSecond <= 200 * (1 / 30) * 2 + 20, `checks parked 1-20 s (30 s interval): ${inFirstSecond} of 200 in the first second (only those parked up to 2 s)`);
  const draws = Array.from({ length: 200 }, (_, i) => recoveryRetryAt(now, 10_000, Infinity, () => i / 199) - now);
  t.ok(draws.every((d) => d >= RECOVERY_HOLD_OFF_MS && d <= RECOVERY_HOLD_OFF_MS + 10_000), 'all within [hold-off, hold-off + interval]');
});
