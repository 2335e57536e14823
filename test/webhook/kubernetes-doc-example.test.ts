// docs/kubernetes.md's examples must be what the webhook does: the first one is
// admitted as written, the denial example is answered word for word.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { Pod } from '../../agent/webhook/pod-types.ts';
import { admit, agentConfigOf, reviewOf, testWebhookConfig } from '../helpers/webhook-admit.ts';

t.test('the first webhook example in docs/kubernetes.md is admitted as written', async (t) => {
  const doc = readFileSync(new URL('../../docs/kubernetes.md', import.meta.url), 'utf8');
  const block = doc.split('# Kubernetes: the injector webhook')[1]!.split('```yaml\n')[1]!.split('```')[0]!;
  const meta = (parse(block) as { metadata: Pod['metadata'] }).metadata;
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'erlmcp', namespace: 'erlmcp', ...meta }, spec: { serviceAccountName: 'erlmcp', containers: [{ name: 'erlmcp', image: 'erlmcp/erlmcp:3.0.0' }] } } as Pod;
  const { response, pod: patched } = admit(reviewOf(pod), testWebhookConfig());
  t.equal(response.allowed, true, JSON.stringify(response.status));
  const config = agentConfigOf(patched, 'erlmcp-secrets');
  t.match(config, { reload: [{ type: 'erlang', cookieSecret: 'cookie.value', apply: { configFiles: [] } }] });
  t.equal((config.reload as Array<Record<string, unknown>>)[0]?.call, undefined, 'the built-in reload: no call');
});

t.test('the denial example in docs/kubernetes.md is what the webhook answers, with kubectl\'s prefix', async (t) => {
  const doc = readFileSync(new URL('../../docs/kubernetes.md', import.meta.url), 'utf8');
  const section = doc.split('\n## When a pod is denied\n')[1]!.split('\n## ')[0]!;
  const [podYaml, answer] = [...section.matchAll(/```(?:yaml)?\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const pod = parse(podYaml!) as Pod;
  const { response } = admit(reviewOf(pod), testWebhookConfig());
  t.equal(response.allowed, false, 'denied');
  t.equal(response.status?.reason, 'BadRequest', 'kubectl prints the reason: "Error from server (BadRequest)"');
  const file = /^# (\S+)/.exec(podYaml!)![1]!;
  // what kubectl prints for a webhook denial of `kubectl create -f FILE`
  const printed = `Error from server (BadRequest): error when creating "${file}": admission webhook "inject.secrets.erlmcp.io" denied the request: ${response.status?.message}`;
  t.equal(answer!.trim().split('\n').join(' '), printed, 'docs/kubernetes.md shows the answer as it is, wrapped at spaces');
});
