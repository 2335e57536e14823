// bench/fleet-peak.ts: the busiest second after a server stop taken apart,
// on a made-up proxy log (which call is held, a probe, a retry), and the
// server's own count from an audit log in OpenBao's format.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { auditPeak, describeBreakdown, peakBreakdown, type ProxiedCall } from '../../bench/fleet-peak.ts';

const STOP = 100_000;
const RESUME = 130_000;
const read = (agent: number, secret: string, sentAt: number, at: number, aborted = false): ProxiedCall => ({
  agent,
  sentAt,
  at,
  path: `/v1/secret/metadata/fleet/a${agent}/${secret}`,
  ...(aborted ? { aborted: true as const } : {}),
});

t.test('each answer of the busiest second is put down to why it was sent', async (t) => {
  const log: ProxiedCall[] = [
    read(0, 'own0', STOP - 5_000, STOP - 4_990), // steady, before the stop
    read(0, 'own1', STOP - 10, RESUME + 200), // out when the server stopped
    read(0, 'own2', STOP + 1_000, RESUME + 210), // agent 0's first call during the stop
    read(0, 'own3', STOP + 2_500, RESUME + 220), // its second
    read(1, 'own0', STOP - 100, RESUME - 100, true), // agent 1: out at the stop, timed out just before the resume...
    read(1, 'own1', RESUME - 60, RESUME + 400), // ...and its probe, still during the stop
    read(3, 'own3', STOP + 100, RESUME + 100, true), // agent 3: sent during the stop, given up at the resume
    read(1, 'own0', RESUME + 500, RESUME + 520), // a recovery retry
    read(1, 'own0', RESUME + 700, RESUME + 720), // the same secret again: regular
    read(2, 'own4', RESUME + 900, RESUME + 1_100), // in the next second
    read(0, 'own2', RESUME + 1_500, RESUME + 1_510), // agent 0's own2 was held and answered: this is a regular check
    { agent: 2, sentAt: RESUME + 100, at: RESUME + 110, path: '/v1/sys/health' }, // not a secret read
  ];
  const b = peakBreakdown(log, STOP, RESUME, 5_000);
  t.equal(b.second, 0);
  t.equal(b.answers, 6);
  t.equal(b.sentBeforeStop, 1);
  t.same(b.held, [1, 1, 0]);
  t.equal(b.probesAfterTimeout, 1);
  t.equal(b.recoveryRetries, 1);
  t.equal(b.regular, 1);
  t.same(b.agentsByAnswers, { '3': 2 }, 'agents 0 and 1 got three answers each');
  t.equal(b.sentDuringStop, 4, 'two of agent 0, the probe, and agent 3');
  t.equal(b.sentDuringStopAbandoned, 1);
  t.equal(b.abandonedAroundResume, 2, 'given up 0.1 s before and 0.1 s after the resume');
  t.same(b.answersPerSecond, [6, 2, 0, 0, 0]);
  t.same(b.retriesSentPerSecond, [2, 0, 0, 0, 0], "agent 1's own0 and agent 2's own4, both sent in the first second");
  t.equal(b.sentInThatSecond, 3);
  t.match(describeBreakdown(b), /6 answers = 1 sent before the stop, held during it 1 first \+ 1 second \+ 0 third or later per agent, 1 probes right after a timeout, 1 recovery retries, 1 regular/);
});

t.test("the server's busiest second from its audit log, abandoned calls and all", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fleet-peak-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'audit.log');
  const iso = (ms: number): string => new Date(ms).toISOString().replace('Z', '123456Z'); // OpenBao writes nanoseconds
  const entry = (type: string, at: number, p: string): string => JSON.stringify({ time: iso(at), type, request: { path: p } });
  writeFileSync(
    file,
    [
      entry('response', RESUME - 10, 'secret/metadata/x'), // before the window
      entry('request', RESUME + 10, 'secret/metadata/x'), // a request line, not an answer
      entry('response', RESUME + 20, 'secret/metadata/x'),
      entry('response', RESUME + 1_020, 'secret/metadata/x'),
      entry('response', RESUME + 1_030, 'secret/data/y'),
      entry('response', RESUME + 1_040, 'sys/quotas/rate-limit/fleet'), // not a secret
      'not json "type":"response" "path":"secret/', // a torn line
      '',
    ].join('\n'),
  );
  t.equal(auditPeak(file, RESUME, 3_000), 2);
  t.equal(auditPeak(path.join(dir, 'missing.log'), RESUME, 3_000), undefined, 'no audit log: no figure');
});
