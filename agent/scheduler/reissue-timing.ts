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
// A window already at or past its end (an expired certificate, a clock far
// off) is due now; the scheduler's floor (timing.ts pacedAt) keeps that
// from becoming a tight loop.

import type { IssuedWindow } from '../providers/provider.ts';
import type { Rand } from './timing.ts';

/** the re-issue is pulled earlier by up to this share of its delay */
export const REISSUE_JITTER = 0.1;

export function nextReissueAt(w: IssuedWindow, now: number, rand: Rand): number {
  const life = w.until - w.from;
  if (!Number.isFinite(life) || life <= 0 || now >= w.until) return now;
  const r = Math.min(Math.max(rand(), 0), 1);
  const delay = life * w.fraction * (1 - REISSUE_JITTER * r);
  return Math.max(now, Math.floor(w.from + delay));
}
