// The erlang reload annotations for erlmcp's own image: a fixed distribution
// port (no EPMD, ERL_DIST_PORT) and TLS distribution files, and "erlang" alone
// for the built-in reload, which re-reads the pod's rendered sys.config. The
// injected config goes through the CLI's own loader.

import t from 'tap';
import { parseConfigText } from '../../agent/config/load.ts';
import type { Pod } from '../../agent/webhook/pod-types.ts';
import { parseReload } from '../../agent/webhook/reload-annotation.ts';
import { admit, agentConfigOf, loadReview } from '../helpers/webhook-admit.ts';

const A = 'secrets.erlmcp.io/';

function podWith(annotations: Record<string, string>): ReturnType<typeof loadReview> {
  const review = loadReview('native-sidecar.json');
  const pod = review.request.object as Pod;
  pod.metadata!.annotations = { ...pod.metadata!.annotations, ...annotations };
  return review;
}

function erlangEntry(annotations: Record<string, string>): Record<string, unknown> {
  const { pod, response } = admit(podWith(annotations));
  if (!response.allowed) throw new Error(`denied: ${JSON.stringify(response.status)}`);
  const container = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.env?.some((e) => e.name === 'ERLMCP_SECRETS_CONFIG') && c.name !== 'erlmcp-secrets-init');
  const raw = agentConfigOf(pod, container!.name);
  parseConfigText(JSON.stringify(raw), '$ERLMCP_SECRETS_CONFIG', '/');
  return (raw.reload as Array<Record<string, unknown>>)[0]!;
}

t.test('port and TLS distribution annotations reach the erlang reload entry', async (t) => {
  const entry = erlangEntry({
    [`${A}reload-erlang-port`]: '9100',
    [`${A}reload-erlang-tls-ca-file`]: '/run/secrets/tls-ca.crt',
    [`${A}reload-erlang-tls-cert-file`]: '/run/secrets/tls.crt',
    [`${A}reload-erlang-tls-key-file`]: '/run/secrets/tls.key',
  });
  t.match(entry, { type: 'erlang', call: 'erlmcp_config:reload()', port: 9100, tls: { caFile: '/run/secrets/tls-ca.crt', certFile: '/run/secrets/tls.crt', keyFile: '/run/secrets/tls.key' } });
});

t.test('"erlang" alone: the built-in reload, over the rendered Erlang term files', async (t) => {
  const entry = erlangEntry({
    [`${A}reload`]: 'erlang',
    [`${A}template-sys.config`]: '[{erlmcp_core, [{db_pools, [{default, [{password, {{db.password}}}]}]}]}].\n',
    [`${A}reload-erlang-port`]: '9100',
  });
  t.equal(entry.call, undefined, 'no call: the built-in reload');
  t.match(entry, { type: 'erlang', port: 9100 });
  t.match((entry.apply as { configFiles: string[] }).configFiles, [/\/sys\.config$/], 'the rendered sys.config is what it re-reads');
});

t.test('bad values and half a TLS set are denied, naming the annotation', async (t) => {
  const deny = (annotations: Record<string, string>): string => {
    const { response } = admit(podWith(annotations));
    t.equal(response.allowed, false);
    return response.status?.message ?? '';
  };
  t.match(deny({ [`${A}reload-erlang-port`]: '99999' }), /reload-erlang-port: must be between 1 and 65535/);
  t.match(deny({ [`${A}reload-erlang-tls-ca-file`]: 'tls-ca.crt' }), /reload-erlang-tls-ca-file: must be an absolute path/);
  t.match(deny({ [`${A}reload-erlang-tls-ca-file`]: '/run/secrets/tls-ca.crt' }), /TLS distribution needs all three/);
  const noReload = podWith({ [`${A}reload-erlang-port`]: '9100' });
  delete (noReload.request.object as Pod).metadata!.annotations![`${A}reload`];
  delete (noReload.request.object as Pod).metadata!.annotations![`${A}reload-erlang-cookie`];
  const { response } = admit(noReload);
  t.equal(response.allowed, false);
  t.match(response.status?.message, /reload-erlang-port: applies only with secrets.erlmcp.io\/reload: "erlang" or "erlang:MODULE:FUNCTION"/);
});

t.test('parseReload: "erlang" and erlang:M:F share the port and TLS context', async (t) => {
  const ctx = { erlangNode: 'erlmcp@127.0.0.1', erlangCookie: 'cookie.value', sharedProcessNamespace: false, sameContainer: false, erlangPort: 9100, erlangConfigFiles: ['/run/secrets/sys.config'] };
  t.same(parseReload('erlang', ctx), { ok: true, value: [{ type: 'erlang', node: 'erlmcp@127.0.0.1', apply: { configFiles: ['/run/secrets/sys.config'] }, cookieSecret: 'cookie.value', port: 9100 }] });
  t.match(parseReload('erlang:', ctx), { ok: false, problem: /erlang reload is "erlang" \(the built-in reload\) or erlang:MODULE:FUNCTION/ });
});
