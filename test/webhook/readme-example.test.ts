// The README's first webhook example must be what the webhook admits.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { Pod } from '../../agent/webhook/pod-types.ts';
import { admit, agentConfigOf, reviewOf, testWebhookConfig } from '../helpers/webhook-admit.ts';

t.test('the README webhook example is admitted as written', async (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const block = readme.split('## Kubernetes: the injector webhook')[1]!.split('```yaml\n')[1]!.split('```')[0]!;
  const meta = (parse(block) as { metadata: Pod['metadata'] }).metadata;
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'erlmcp', namespace: 'erlmcp', ...meta }, spec: { serviceAccountName: 'erlmcp', containers: [{ name: 'erlmcp', image: 'erlmcp/erlmcp:3.0.0' }] } } as Pod;
  const { response, pod: patched } = admit(reviewOf(pod), testWebhookConfig());
  t.equal(response.allowed, true, JSON.stringify(response.status));
  const config = agentConfigOf(patched, 'erlmcp-secrets');
  t.match(config, { reload: [{ type: 'erlang', cookieSecret: 'cookie.value', apply: { configFiles: [] } }] });
  t.equal((config.reload as Array<Record<string, unknown>>)[0]?.call, undefined, 'the built-in reload: no call');
});
