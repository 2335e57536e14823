// When a value issued on write (a certificate) is issued again. Pure; `rand`
// is injected so tests can sweep it.
//
//   nextReissueAt(window, now, rand) -> epoch ms
//
// At `fraction` of the lifetime (NotAfter - NotBefore; default 2/3), pulled
// earlier by up to REISSUE_JITTER of that delay so that many pods whose
// certificates were issued together do not all ask the PKI at once. The
// schedule follows the certificate, never the check interval: issuing is
// not a cheap read, each one is a new certificate in the PKI's store.
// A point already past while the certificate is still valid (a PKI whose
// clock is behind ours, or a NotBefore back-dated far) is moved to the same
// fraction of what is left from now: planning it "now" issued a certificate
// that was again past its point, about once a minute under the scheduler's
// floor, for as long as the skew lasted. A window at or past its end (an
// expired certificate) is due now; the floor (timing.ts pacedAt) keeps that
// from becoming a tight loop.

import type { IssuedWindow } from '../providers/provider.ts';
import type { Rand } from './timing.ts';

/** the re-issue is pulled earlier by up to this share of its delay */
export const REISSUE_JITTER = 0.1;

export function nextReissueAt(w: IssuedWindow, now: number, rand: Rand): number {
  const life = w.until - w.from;
  if (!Number.isFinite(life) || life <= 0 || now >= w.until) return now;
  const r = Math.min(Math.max(rand(), 0), 1);
  const share = w.fraction * (1 - REISSUE_JITTER * r);
  const planned = Math.floor(w.from + life * share);
  return planned > now ? planned : Math.floor(now + (w.until - now) * share);
}
