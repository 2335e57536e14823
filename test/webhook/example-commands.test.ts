// Every container in examples/kubernetes/ runs a program its image has. For
// our images that is checked against the Dockerfile's stages (which stage an
// image names, what the stage copies in, what its base provably has), since
// a schema check passes a command that does not exist: the example webhook
// once ran /usr/local/bin/erlmcp-secrets, which only the -binary image has,
// in the Node image, so it never started and, with failurePolicy Fail, every
// labelled pod was refused. The containers the webhook injects are checked
// the same way, from the real webhook started with the example Deployment's
// own arguments and a certificate from gen-certs.sh. And the image names
// live in one place: the webhook Deployment.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Pod } from '../../agent/webhook/pod-types.ts';
import { readDockerfile } from '../helpers/dockerfile.ts';
import { commandProblems, IMAGE_REPOSITORY, stageForImage, subcommandOf, type ContainerLike } from '../helpers/image-contents.ts';
import { ROOT } from '../helpers/cli.ts';
import { applyResponse } from '../helpers/webhook-admit.ts';
import { startWebhookFromContainer } from '../helpers/webhook-from-manifest.ts';

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const DIR = path.join(ROOT, 'examples', 'kubernetes');
const df = readDockerfile(ROOT);
/** erlmcp's own image: not built here, so its paths cannot be checked from a
 * Dockerfile; its release runs as /opt/erlmcp/bin/erlmcp (docs/erlmcp.md) */
const APP_IMAGE = 'erlmcp/erlmcp:3.0.0';

const objects: { file: string; obj: Any }[] = [];
for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort()) {
  for (const d of parseAllDocuments(readFileSync(path.join(DIR, file), 'utf8'))) {
    const obj = d.toJS() as Any | null;
    if (obj) objects.push({ file, obj });
  }
}
const podSpecOf = (o: Any): Any | undefined => (o.kind === 'Pod' ? o.spec : o.spec?.template?.spec);
const containersOf = (spec: Any): ContainerLike[] => [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
const ours = (image: string): boolean => image.startsWith(`${IMAGE_REPOSITORY}:`);

t.test('every example container runs a program its image has', async (t) => {
  let checked = 0;
  for (const { file, obj } of objects) {
    const spec = podSpecOf(obj);
    if (!spec) continue;
    for (const c of containersOf(spec)) {
      const label = `${file}: ${obj.kind}/${obj.metadata.name} container ${c.name}`;
      if (ours(c.image!)) {
        t.same(commandProblems(df, c), [], `${label}: its command exists in ${c.image} (Dockerfile stage ${stageForImage(c.image!)})`);
        checked++;
      } else {
        t.equal(c.image, APP_IMAGE, `${label}: the only other image is erlmcp's`);
        t.ok(c.command?.[0] === '/opt/erlmcp/bin/erlmcp' || c.command?.[0] === '/bin/sh', `${label}: spells out its command (${c.command?.[0]}), as exec mode needs`);
      }
    }
  }
  t.ok(checked >= 1, `${checked} container(s) of our images checked`);
});

t.test('the check catches the old example: the single binary\'s path in the Node image', async (t) => {
  const old = { name: 'webhook', image: `${IMAGE_REPOSITORY}:0.1.0`, command: ['/usr/local/bin/erlmcp-secrets'], args: ['webhook'] };
  t.match(commandProblems(df, old), [/\/usr\/local\/bin\/erlmcp-secrets does not exist in the image/]);
  t.same(commandProblems(df, { ...old, image: `${IMAGE_REPOSITORY}:0.1.0-binary` }), [], 'the same command is right for the -binary image');
  t.match(commandProblems(df, { name: 'x', image: `${IMAGE_REPOSITORY}:0.1.0`, command: ['/nodejs/bin/node', '/app/missing.js'] }), [/script \/app\/missing\.js does not exist/]);
});

const webhookDeployment = objects.find((o) => o.obj.kind === 'Deployment' && o.obj.metadata.name === 'erlmcp-secrets-webhook')!;
const webhookContainer = webhookDeployment.obj.spec.template.spec.containers[0] as ContainerLike & Any;
const flag = (name: string): string | undefined => (webhookContainer.args as string[]).find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

t.test('image names: in one place, the webhook Deployment, and consistent', async (t) => {
  const mentions = readdirSync(DIR).flatMap((f) => [...readFileSync(path.join(DIR, f), 'utf8').matchAll(/ghcr\.io\/[^\s"']+/g)].map((m) => `${f}: ${m[0]}`));
  t.same(mentions.map((m) => m.split(':')[0]).filter((f) => f !== 'webhook-deployment.yaml'), [], 'no other example file names an image of ours');
  t.equal(mentions.length, 3, `the webhook image, the agent image and the binary image (${mentions.join(', ')})`);
  t.equal(subcommandOf(df, webhookContainer), 'webhook');
  t.equal(flag('agent-image'), webhookContainer.image, 'the injected agent is the webhook\'s own image');
  t.equal(flag('agent-binary-image'), `${webhookContainer.image}-binary`, 'the binary image is the same release with the -binary tag');
  t.equal(stageForImage(flag('agent-binary-image')!), 'runtime-binary');
});

t.test('the example webhook runs with its own arguments and injects runnable containers', async (t) => {
  const certs = mkdtempSync(path.join(tmpdir(), 'erlmcp-example-certs-'));
  t.teardown(() => rmSync(certs, { recursive: true, force: true }));
  execFileSync('bash', [path.join(DIR, 'gen-certs.sh')], { env: { ...process.env, OUT_DIR: certs, DAYS: '2' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const cm = objects.find((o) => o.obj.kind === 'ConfigMap' && o.obj.metadata.name === 'erlmcp-secrets-webhook')!.obj;
  const running = await startWebhookFromContainer(webhookContainer, {
    tls: { 'tls.crt': readFileSync(path.join(certs, 'tls.crt'), 'utf8'), 'tls.key': readFileSync(path.join(certs, 'tls.key'), 'utf8') },
    config: { 'webhook.yaml': cm.data['webhook.yaml'] },
  });
  t.teardown(() => running.stop());
  const service = objects.find((o) => o.obj.kind === 'MutatingWebhookConfiguration')!.obj.webhooks[0].clientConfig.service;
  const serverName = `${service.name}.${service.namespace}.svc`;
  const ca = readFileSync(path.join(certs, 'ca.crt'), 'utf8');
  const workloads = objects.filter(({ obj }) => podSpecOf(obj) && obj.spec.template?.metadata?.labels?.['secrets.erlmcp.io/inject'] === 'true');
  t.ok(workloads.length >= 4, `${workloads.length} labelled example workloads`);
  const injectedImages = new Set<string>();
  for (const { file, obj } of workloads) {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { ...obj.spec.template.metadata, namespace: obj.metadata.namespace }, spec: structuredClone(obj.spec.template.spec) } as Pod;
    const response = await running.mutate(pod, { ca, serverName });
    t.equal(response.allowed, true, `${file}: ${obj.metadata.name} admitted${response.status ? `: ${response.status.message}` : ''}`);
    const patched = applyResponse(pod, response).pod;
    for (const c of containersOf(patched.spec as Any).filter((x) => ours(x.image!))) {
      injectedImages.add(c.image!);
      t.same(commandProblems(df, c), [], `${obj.metadata.name}: injected ${c.name} runs a program ${c.image} has`);
    }
  }
  t.same([...injectedImages].sort(), [flag('agent-image'), flag('agent-binary-image')].sort(), 'the injected images are the ones the Deployment names (--agent-image, --agent-binary-image)');
});

t.test('--agent-image and --agent-binary-image reach the injected containers', async (t) => {
  const certs = mkdtempSync(path.join(tmpdir(), 'erlmcp-example-certs-'));
  t.teardown(() => rmSync(certs, { recursive: true, force: true }));
  execFileSync('bash', [path.join(DIR, 'gen-certs.sh')], { env: { ...process.env, OUT_DIR: certs, DAYS: '2', EXTRA_SANS: 'DNS:localhost' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const mirror = { agent: 'registry.example.com/mirror/erlmcp-secrets:0.1.0', binary: 'registry.example.com/mirror/erlmcp-secrets:0.1.0-binary' };
  const args = (webhookContainer.args as string[]).map((a) => a.replace(/^--agent-image=.*/, `--agent-image=${mirror.agent}`).replace(/^--agent-binary-image=.*/, `--agent-binary-image=${mirror.binary}`));
  const running = await startWebhookFromContainer({ ...webhookContainer, args }, {
    tls: { 'tls.crt': readFileSync(path.join(certs, 'tls.crt'), 'utf8'), 'tls.key': readFileSync(path.join(certs, 'tls.key'), 'utf8') },
    config: { 'webhook.yaml': objects.find((o) => o.obj.kind === 'ConfigMap')!.obj.data['webhook.yaml'] },
  });
  t.teardown(() => running.stop());
  const exec = objects.find((o) => o.obj.metadata.name === 'erlmcp-exec')!.obj;
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { ...exec.spec.template.metadata, namespace: 'erlmcp' }, spec: structuredClone(exec.spec.template.spec) } as Pod;
  const response = await running.mutate(pod, { ca: readFileSync(path.join(certs, 'ca.crt'), 'utf8'), serverName: 'localhost' });
  t.equal(response.allowed, true);
  const copy = applyResponse(pod, response).pod.spec.initContainers!.find((c) => c.name === 'erlmcp-secrets-copy');
  t.equal(copy?.image, mirror.binary, 'exec mode copies the binary image the flag names');
  const app = objects.find((o) => o.obj.kind === 'Deployment' && o.obj.metadata.name === 'erlmcp')!.obj;
  const appPod = { apiVersion: 'v1', kind: 'Pod', metadata: { ...app.spec.template.metadata, namespace: 'erlmcp' }, spec: structuredClone(app.spec.template.spec) } as Pod;
  const appResponse = await running.mutate(appPod, { ca: readFileSync(path.join(certs, 'ca.crt'), 'utf8'), serverName: 'localhost' });
  t.equal(appResponse.allowed, true);
  t.equal(applyResponse(appPod, appResponse).pod.spec.initContainers!.find((c) => c.name === 'erlmcp-secrets')?.image, mirror.agent, 'the native sidecar is the agent image the flag names');
});
