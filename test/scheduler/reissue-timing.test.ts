// When an issued certificate is issued again (reissue-timing.ts): at the
// configured fraction of NotBefore..NotAfter, pulled earlier by at most 10%
// of that delay, never before now and never on a poll interval.

import t from 'tap';
import { nextReissueAt, REISSUE_JITTER } from '../../agent/scheduler/reissue-timing.ts';

const H = 3_600_000;
const window = { from: 0, until: 24 * H, fraction: 2 / 3, basis: 'certificate' as const };

t.test('at 2/3 of the lifetime, jittered earlier by up to 10% of that', async (t) => {
  const at = (r: number) => nextReissueAt(window, 1000, () => r);
  t.equal(at(0), 16 * H, 'no jitter: 2/3 of 24 h');
  t.equal(at(1), Math.floor(16 * H * (1 - REISSUE_JITTER)), 'the most jitter: 10% earlier');
  for (let i = 0; i <= 100; i++) {
    const v = at(i / 100);
    if (v < 16 * H * 0.9 || v > 16 * H) t.fail(`rand ${i / 100} gave ${v}`);
  }
  t.equal(at(-5), 16 * H, 'rand out of [0,1] is clamped');
  t.equal(at(7), Math.floor(16 * H * 0.9));
  t.equal(nextReissueAt({ ...window, fraction: 0.5 }, 0, () => 0), 12 * H, 'reissueFraction 0.5');
});

t.test('never in the past; due now when the certificate is over or has no lifetime', async (t) => {
  t.equal(nextReissueAt(window, 20 * H, () => 0), 20 * H + Math.floor((4 * H * 2) / 3), 'past the planned point (a PKI clock behind ours): 2/3 of what is left, not now, which re-issued in a loop');
  t.equal(nextReissueAt(window, 20 * H, () => 1), 20 * H + Math.floor(((4 * H * 2) / 3) * (1 - REISSUE_JITTER)), '...jittered like the rest');
  t.equal(nextReissueAt(window, 25 * H, () => 0), 25 * H, 'expired: now');
  t.equal(nextReissueAt({ ...window, until: 0 }, 5, () => 0), 5, 'zero lifetime: now');
  t.equal(nextReissueAt({ ...window, until: -H }, 5, () => 0), 5, 'NotAfter before NotBefore: now');
  t.equal(nextReissueAt({ ...window, until: Number.NaN }, 5, () => 0), 5, 'an unreadable date: now');
  // a certificate issued with NotBefore in the future (a clock ahead): still timed from NotBefore
  t.equal(nextReissueAt({ ...window, from: 2 * H, until: 26 * H }, 0, () => 0), 18 * H);
});
