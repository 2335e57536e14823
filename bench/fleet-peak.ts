// What the busiest second after a server stop is made of (bench/fleet.ts):
// which calls the agents got answers to in that second, by why each was sent,
// and how many requests the server itself processed in its busiest second
// (from its audit log: that count includes calls whose agent had given up,
// since a stopped server still reads and answers a request whose client has
// closed the connection once it resumes).

import { readFileSync } from 'node:fs';

/** one request through the bench's proxy */
export interface ProxiedCall {
  agent: number;
  /** when it reached the proxy */
  sentAt: number;
  /** when its answer ended, or when the agent gave up on it */
  at: number;
  path: string;
  /** the agent closed the connection before any answer (its timeout) */
  aborted?: true;
}

export interface PeakBreakdown {
  /** which second after the resume was the busiest (0: the first) */
  second: number;
  /** answers the agents got in it (secret reads) */
  answers: number;
  /** reads the agents sent in that same second: far fewer than answers means
   * the server (or the loaded machine) answered a backlog at once */
  sentInThatSecond: number;
  /** answers per second after the resume, the whole window */
  answersPerSecond: number[];
  /** recovery retries (each agent's first read of a secret after the resume,
   * held calls apart) by the second they were sent in: how evenly the
   * retries spread over the recovery window */
  retriesSentPerSecond: number[];
  /** sent before the stop and still out when it came */
  sentBeforeStop: number;
  /** sent during the stop, the agent's first (second, third or later) such
   * call: the calls a hung server holds */
  held: [number, number, number];
  /** sent right after the same agent's previous call timed out */
  probesAfterTimeout: number;
  /** sent after the resume, the agent's first read of that secret since:
   * the retries of what was parked or failed */
  recoveryRetries: number;
  /** other reads sent after the resume (a secret back on its phase) */
  regular: number;
  /** agents by how many answers they got in that second: "1": 30 means 30 agents got one */
  agentsByAnswers: Record<string, number>;
  /** reads sent while the server was stopped: the server processes every
   * one of them when it resumes, answered to the agent or not */
  sentDuringStop: number;
  /** of those, given up by the agent (timed out) before the answer */
  sentDuringStopAbandoned: number;
  /** calls the agents gave up on from a second before the resume to the end of the window */
  abandonedAroundResume: number;
  /** requests to secret/ the server answered in its busiest second after the
   * resume, from its audit log (abandoned ones included), undefined without a log */
  serverPeak?: number;
}

const isSecretRead = (p: string): boolean => p.startsWith('/v1/secret/');
/** a call sent this soon after the same agent's call timed out is the flow's probe */
const PROBE_AFTER_MS = 250;

/** the busiest second of [resumedAt, resumedAt + windowMs) by answers, taken apart */
export function peakBreakdown(log: readonly ProxiedCall[], stopAt: number, resumedAt: number, windowMs: number): PeakBreakdown {
  const reads = log.filter((r) => isSecretRead(r.path));
  const answered = reads.filter((r) => !r.aborted && r.at >= resumedAt && r.at < resumedAt + windowMs);
  const counts = new Array<number>(Math.max(1, Math.floor(windowMs / 1000))).fill(0);
  for (const r of answered) counts[Math.floor((r.at - resumedAt) / 1000)]!++;
  const second = counts.indexOf(Math.max(...counts));
  const from = resumedAt + second * 1000;
  const inPeak = answered.filter((r) => r.at >= from && r.at < from + 1000);

  const abortedAt = new Map<number, number[]>();
  for (const r of reads) if (r.aborted) abortedAt.set(r.agent, [...(abortedAt.get(r.agent) ?? []), r.at]);
  const isProbe = (r: ProxiedCall): boolean => (abortedAt.get(r.agent) ?? []).some((at) => r.sentAt >= at && r.sentAt - at <= PROBE_AFTER_MS);
  // each agent's calls sent during the stop, in order, probes left out
  const heldRank = new Map<ProxiedCall, number>();
  const duringStop = reads.filter((r) => r.sentAt >= stopAt && r.sentAt < resumedAt);
  const byAgent = new Map<number, ProxiedCall[]>();
  for (const r of duringStop) if (!isProbe(r)) byAgent.set(r.agent, [...(byAgent.get(r.agent) ?? []), r]);
  for (const list of byAgent.values()) list.sort((a, b) => a.sentAt - b.sentAt).forEach((r, i) => heldRank.set(r, i));
  // the first read of each (agent, secret) sent after the resume, unless the
  // call held for that secret was answered (its next read is a regular one)
  const keyOf = (r: ProxiedCall): string => `${r.agent} ${r.path.replace('/metadata/', '/data/')}`;
  const heldAnswered = new Set(duringStop.filter((r) => !r.aborted).map(keyOf));
  const firstAfter = new Map<string, ProxiedCall>();
  for (const r of [...reads].sort((a, b) => a.sentAt - b.sentAt)) {
    const key = keyOf(r);
    if (r.sentAt >= resumedAt && !firstAfter.has(key) && !heldAnswered.has(key)) firstAfter.set(key, r);
  }
  const firsts = new Set(firstAfter.values());
  const retriesSentPerSecond = new Array<number>(counts.length).fill(0);
  for (const r of firsts) if (r.sentAt < resumedAt + counts.length * 1000) retriesSentPerSecond[Math.floor((r.sentAt - resumedAt) / 1000)]!++;

  const b: PeakBreakdown = {
    second,
    answers: inPeak.length,
    sentInThatSecond: reads.filter((r) => r.sentAt >= from && r.sentAt < from + 1000).length,
    answersPerSecond: counts,
    retriesSentPerSecond,
    sentBeforeStop: 0,
    held: [0, 0, 0],
    probesAfterTimeout: 0,
    recoveryRetries: 0,
    regular: 0,
    agentsByAnswers: {},
    sentDuringStop: duringStop.length,
    sentDuringStopAbandoned: duringStop.filter((r) => r.aborted).length,
    abandonedAroundResume: reads.filter((r) => r.aborted && r.at >= resumedAt - 1000 && r.at < resumedAt + windowMs).length,
  };
  const perAgent = new Map<number, number>();
  for (const r of inPeak) {
    perAgent.set(r.agent, (perAgent.get(r.agent) ?? 0) + 1);
    if (r.sentAt < stopAt) b.sentBeforeStop++;
    else if (isProbe(r)) b.probesAfterTimeout++;
    else if (r.sentAt < resumedAt) b.held[Math.min(2, heldRank.get(r) ?? 2)]!++;
    else if (firsts.has(r)) b.recoveryRetries++;
    else b.regular++;
  }
  for (const n of perAgent.values()) b.agentsByAnswers[n] = (b.agentsByAnswers[n] ?? 0) + 1;
  return b;
}

/** the busiest second of [from, from + windowMs) in the server's audit log:
 * answers to requests under secret/, by the server's own clock */
export function auditPeak(auditFile: string, from: number, windowMs: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(auditFile, 'utf8');
  } catch {
    return undefined;
  }
  const counts = new Array<number>(Math.max(1, Math.floor(windowMs / 1000))).fill(0);
  for (const line of text.split('\n')) {
    // cheap filter before parsing: most lines are not in the window
    if (!line.includes('"type":"response"') || !line.includes('"path":"secret/')) continue;
    let entry: { type?: unknown; time?: unknown; request?: { path?: unknown } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (entry.type !== 'response' || typeof entry.time !== 'string' || typeof entry.request?.path !== 'string' || !entry.request.path.startsWith('secret/')) continue;
    const at = Date.parse(entry.time);
    if (at >= from && at < from + counts.length * 1000) counts[Math.floor((at - from) / 1000)]!++;
  }
  return Math.max(...counts);
}

/** one line for the table's notes */
export function describeBreakdown(b: PeakBreakdown): string {
  const agents = Object.entries(b.agentsByAnswers)
    .sort(([a], [c]) => Number(a) - Number(c))
    .map(([n, count]) => `${count} agents ${n}`)
    .join(', ');
  return (
    `busiest second after the stop (second ${b.second}; the agents sent ${b.sentInThatSecond} reads in it): ${b.answers} answers = ` +
    `${b.sentBeforeStop} sent before the stop, held during it ${b.held[0]} first + ${b.held[1]} second + ${b.held[2]} third or later per agent, ` +
    `${b.probesAfterTimeout} probes right after a timeout, ${b.recoveryRetries} recovery retries, ${b.regular} regular; ` +
    `answers per agent: ${agents}; sent during the stop ${b.sentDuringStop} (${b.sentDuringStopAbandoned} given up before the answer), ` +
    `${b.abandonedAroundResume} given up around the resume; answers in the first 3 seconds: ${b.answersPerSecond.slice(0, 3).join(', ')}` +
    (b.serverPeak === undefined ? '' : `; the server's busiest second (audit log, given-up calls included): ${b.serverPeak}`)
  );
}
