// sys/health: the status code per node state, with the query overrides
// (standbyok, perfstandbyok, *code) the docs describe. The fake's `standby`
// mode is a performance standby that serves nothing but health (473).

import type { FakeResponse } from './wire.ts';

export type VaultMode = 'active' | 'sealed' | 'rate-limited' | 'standby';

export function health(state: { mode: VaultMode; now: number }, query: URLSearchParams, method: string): FakeResponse {
  const code = (name: string, dflt: number): number => {
    const v = query.get(name);
    return v !== null && /^\d+$/.test(v) ? Number(v) : dflt;
  };
  const truthy = (name: string): boolean => query.has(name) && query.get(name) !== 'false';
  const sealed = state.mode === 'sealed';
  const perfStandby = state.mode === 'standby';
  let status: number;
  if (sealed) status = code('sealedcode', 503);
  else if (perfStandby) status = truthy('perfstandbyok') ? code('activecode', 200) : code('performancestandbycode', 473);
  else status = code('activecode', 200);
  const body: Record<string, unknown> = {
    initialized: true,
    sealed,
    standby: perfStandby,
    performance_standby: perfStandby,
    replication_performance_mode: 'disabled',
    replication_dr_mode: 'disabled',
    server_time_utc: Math.floor(state.now / 1000),
    version: '1.17.0',
  };
  if (!sealed) {
    body.cluster_name = 'vault-cluster-fake';
    body.cluster_id = '00000000-0000-0000-0000-000000000000';
  }
  return method === 'HEAD' ? { status } : { status, body };
}
