// Erlang distribution client: latency of one rpc call over an established
// connection (median/p99 of N calls) and of connect + handshake + call with a
// fresh client each time (median of M), over TCP and over TLS distribution.
// Real OTP node from erlang-nox; figures, not pass/fail.
//
//   node bench/erldist-call.ts [calls=200] [connects=20]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErlDistClient, type ErlDistClientOptions } from '../agent/erldist/client.ts';
import { ErlangNodes, uniqueName } from '../test/helpers/erlang-node.ts';
import { makeDistTlsFiles } from '../test/helpers/erlang-tls.ts';

const CALLS = Number(process.argv[2] ?? 200);
const CONNECTS = Number(process.argv[3] ?? 20);
const COOKIE = 'bench-cookie';

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

function summary(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const f = (x: number): string => `${x.toFixed(3)} ms`;
  return `median ${f(quantile(s, 0.5))}  p99 ${f(quantile(s, 0.99))}  min ${f(s[0] as number)}  max ${f(s[s.length - 1] as number)}  (n=${s.length})`;
}

async function measure(label: string, options: ErlDistClientOptions): Promise<void> {
  const client = new ErlDistClient(options);
  await client.connect();
  for (let i = 0; i < 20; i++) await client.call('erlang', 'node', []); // warm-up
  const calls: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t0 = performance.now();
    await client.call('erlang', 'node', []);
    calls.push(performance.now() - t0);
  }
  client.close();

  const connects: number[] = [];
  for (let i = 0; i < CONNECTS; i++) {
    const fresh = new ErlDistClient(options);
    const t0 = performance.now();
    await fresh.call('erlang', 'node', []);
    connects.push(performance.now() - t0);
    fresh.close();
    // Let the node finish tearing down the old connection under our (fixed) name.
    await new Promise((r) => setTimeout(r, 50));
  }
  console.log(`${label}`);
  console.log(`  call on an open connection:        ${summary(calls)}`);
  console.log(`  EPMD + connect + handshake + call: ${summary(connects)}`);
}

const nodes = await ErlangNodes.standalone();
const dir = mkdtempSync(join(tmpdir(), 'bench-erldist-'));
try {
  const tcp = await nodes.start({ sname: uniqueName('bench_tcp'), cookie: COOKIE });
  await measure(`TCP distribution (${tcp.node})`, { node: tcp.node, cookie: COOKIE, epmdPort: nodes.epmdPort });

  const files = makeDistTlsFiles(dir);
  const tls = await nodes.start({ sname: uniqueName('bench_tls'), cookie: COOKIE, tlsOptFile: files.optFile });
  await measure(`TLS distribution (${tls.node})`, {
    node: tls.node,
    cookie: COOKIE,
    epmdPort: nodes.epmdPort,
    tls: { caFile: files.caFile, certFile: files.clientCertFile, keyFile: files.clientKeyFile },
  });
} finally {
  await nodes.shutdown();
  rmSync(dir, { recursive: true, force: true });
}
