// Which secrets an edited config re-issues at once (reissue-on-config.ts):
// only written secrets whose request changed, on the same provider with the
// same settings; key order is not a change.

import t from 'tap';
import { parseConfigText, type AgentConfig } from '../../agent/config/load.ts';
import { applyWriteRequestChanges, writeRequestChanges } from '../../agent/sidecar/reissue-on-config.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';

function config(write: string, extra = '', address = 'http://127.0.0.1:8200'): AgentConfig {
  return parseConfigText(
    `providers:
  vault: { type: vault, address: "${address}", auth: { method: token, tokenFile: ./token } }
secrets:
  tls: { provider: vault, path: pki/issue/erlmcp, write: ${write} }
  db: { provider: vault, path: secret/data/db${extra} }
`,
    'agent.yaml',
    '/etc/erlmcp',
  );
}
const issues = (s: { spec: Record<string, unknown> }): boolean => s.spec.write !== undefined;

t.test('a changed write map is a change; the same map in another key order is not', async (t) => {
  const a = config('{ common_name: a.example, ttl: 1h }');
  t.same(writeRequestChanges(a, config('{ ttl: 1h, common_name: a.example }'), issues), [], 'key order');
  t.same(writeRequestChanges(a, config('{ common_name: b.example, ttl: 1h }'), issues), ['tls'], 'a new common name');
  t.same(writeRequestChanges(a, config('{ common_name: a.example, ttl: 1h }, reissueFraction: 0.5'), issues), ['tls'], 'a new reissueFraction');
  t.same(writeRequestChanges(a, config('{ common_name: a.example, ttl: 1h }', ', version: 3'), issues), [], 'a read secret that changed is left to a restart');
  t.same(writeRequestChanges(a, config('{ common_name: b.example }', '', 'http://127.0.0.1:8201'), issues), [], 'another provider address: a restart applies it all');
});

t.test('applied: the running config gets the new request and the secret is due now', async (t) => {
  const current = config('{ common_name: a.example }');
  const next = config('{ common_name: b.example, ip_sans: ["127.0.0.1"] }');
  const calls: Array<[string, string[]]> = [];
  const { logger, text } = memoryLogger();
  const fakeVault = { issues: (ref: { spec: Record<string, unknown> }) => ref.spec.write !== undefined } as never;
  const names = applyWriteRequestChanges(current, next, { providers: new Map([['vault', fakeVault]]), logger, reissue: (reason, n) => calls.push([reason, n]) });
  t.same(names, ['tls']);
  t.same(current.secrets.tls!.spec, { path: 'pki/issue/erlmcp', write: { common_name: 'b.example', ip_sans: ['127.0.0.1'] } });
  t.same(calls, [['write request changed in the config', ['tls']]]);
  t.match(text(), /issuing for the new request now/);
  t.same(applyWriteRequestChanges(current, next, { providers: new Map([['vault', fakeVault]]), logger, reissue: () => t.fail('nothing changed') }), [], 'applying again: nothing to do');
});
