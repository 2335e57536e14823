// The webhook among others and over time, through a real API server
// (test/helpers/kube-cluster.ts): reinvocation when a second mutating
// webhook adds a container after ours (reinvocationPolicy IfNeeded, as
// examples/kubernetes/mutating-webhook.yaml sets it) or before ours; a
// serving certificate rotated while pods keep being created; and
// failurePolicy with the webhook down (Fail refuses the pod, Ignore admits it
// without secrets).

import t from 'tap';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { makeCertificate } from '../helpers/openssl-certs.ts';
import { startKubeCluster, waitFor } from '../helpers/kube-cluster.ts';
import { containerNames, injectPod, registerWebhook, startLocalWebhook, type PodJson } from '../helpers/kube-webhook.ts';

t.setTimeout(600_000);

const P = 'secrets.erlmcp.io/';
const k = await startKubeCluster(t);
t.comment(`cluster ready in ${k.startMs} ms`);
// a long shutdown delay, so the pod created during it is not racing a loaded machine
const wh = await startLocalWebhook(t, undefined, ['--log-level', 'debug', '--shutdown-delay', '30']);
await registerWebhook(k, wh);
await k.namespace('erlmcp', { 'pod-security.kubernetes.io/enforce': 'restricted' });

const base = { [`${P}secret-db`]: 'vault:secret/data/database/erlmcp', [`${P}template-db.env`]: 'PGPASSWORD={{db.password}}' };
const create = async (pod: Record<string, unknown>): Promise<PodJson> => JSON.parse(await k.kubectlOk(['create', '-o', 'json', '-f', '-'], { stdin: JSON.stringify(pod) })) as PodJson;
const labelled = (name: string, labels: Record<string, string>, annotations = base): Record<string, unknown> => {
  const pod = injectPod(name, 'erlmcp', annotations);
  Object.assign((pod.metadata as { labels: Record<string, string> }).labels, labels);
  return pod;
};

/** Another team's mutating webhook: adds a restricted-compliant container `late` to pods labelled for it. */
async function startContainerAdder(): Promise<{ url: string; caPem: string; calls: string[]; server: Server }> {
  const ca = makeCertificate({ days: 2, cn: 'adder-ca', extensions: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign'] });
  const leaf = makeCertificate({ days: 2, cn: 'adder', issuer: { certPem: ca.certPem, keyPem: ca.keyPem }, extensions: ['subjectAltName=IP:127.0.0.1', 'extendedKeyUsage=serverAuth'] });
  const calls: string[] = [];
  const server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      const review = JSON.parse(body) as { request: { uid: string; object: PodJson } };
      const pod = review.request.object;
      calls.push(`${pod.metadata.name}: ${containerNames(pod).init.join(',')} | ${containerNames(pod).app.join(',')}`);
      const has = pod.spec.containers.some((c) => c.name === 'late');
      const late = {
        name: 'late',
        image: 'registry.example.com/late:1',
        securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
      };
      const patch = has ? undefined : Buffer.from(JSON.stringify([{ op: 'add', path: '/spec/containers/-', value: late }])).toString('base64');
      const response = { uid: review.request.uid, allowed: true, ...(patch ? { patchType: 'JSONPatch', patch } : {}) };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/`, caPem: ca.certPem, calls, server };
}

/** a MutatingWebhookConfiguration for the adder; the API server calls configurations in name order */
function adderConfig(name: string, selector: string, adder: { url: string; caPem: string }): string {
  return JSON.stringify({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name },
    webhooks: [
      {
        name: `${name}.example.com`,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Fail',
        reinvocationPolicy: 'Never',
        clientConfig: { url: adder.url, caBundle: Buffer.from(adder.caPem).toString('base64') },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
        objectSelector: { matchLabels: { adder: selector } },
      },
    ],
  });
}

/** the certificate a new TLS connection to the webhook is served */
function servedFingerprint(port: number, caPem: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca: caPem, servername: 'erlmcp-secrets-webhook.erlmcp-secrets.svc' }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.once('error', reject);
  });
}

const ourCalls = (pod: string) => wh.proc.logs.filter((l) => l.pod === pod && (l.msg === 'injecting erlmcp-secrets' || l.msg === 'pod passed untouched'));

t.test('reinvocation: a webhook after ours adds a container; ours is called again and adds nothing twice', async (t) => {
  const adder = await startContainerAdder();
  await k.apply(adderConfig('zz-adds-container', 'after', adder));
  const pod = await create(labelled('reinvoked', { adder: 'after' }));
  t.same(containerNames(pod), { init: ['erlmcp-secrets'], app: ['erlmcp', 'late'] }, 'one agent, and the late container');
  t.equal(pod.spec.volumes?.filter((v) => v.name === 'erlmcp-secrets').length, 1, 'one secrets volume');
  t.same(adder.calls, ['reinvoked: erlmcp-secrets | erlmcp'], 'the other webhook ran after ours');
  const calls = ourCalls('reinvoked');
  t.same(calls.map((l) => l.msg), ['injecting erlmcp-secrets', 'pod passed untouched'], 'ours was reinvoked (IfNeeded) and passed the injected pod');
  t.equal(calls[1]?.reason, 'already injected');
});

t.test('a webhook before ours adds a container: ours mounts the secrets into it too', async (t) => {
  const adder = await startContainerAdder();
  await k.apply(adderConfig('aa-adds-container', 'before', adder));
  const pod = await create(labelled('before', { adder: 'before' }));
  t.same(containerNames(pod), { init: ['erlmcp-secrets'], app: ['erlmcp', 'late'] });
  const late = pod.spec.containers.find((c) => c.name === 'late')!;
  t.ok(late.volumeMounts?.some((m) => m.name === 'erlmcp-secrets' && m.readOnly === true), 'the added container gets the secrets volume (containers default: all)');
  t.same(adder.calls, ['before:  | erlmcp'], 'the other webhook ran first');
});

t.test('certificate rotation: a new serving certificate, and no pod refused meanwhile', async (t) => {
  const before = wh.fingerprint();
  let n = 0;
  const refused: string[] = [];
  let rotating = true;
  // pods created all through the rotation
  const load = (async () => {
    while (rotating || n < 3) {
      const r = await k.kubectl(['create', '-f', '-'], { stdin: JSON.stringify(injectPod(`rot-${n}`, 'erlmcp', base)) });
      if (r.code !== 0) refused.push(r.stderr);
      n++;
    }
  })();
  const from = wh.proc.logs.length;
  wh.reissue();
  const reloaded = await wh.proc.waitForLog((l) => l.msg === 'webhook certificate reloaded', 'the certificate reload', 30_000, from);
  t.not(wh.fingerprint(), before, 'gen-certs.sh KEEP_CA=1 issued a new certificate');
  t.equal(reloaded.previous, before, 'the log names the previous certificate');
  t.equal(reloaded.fingerprint, wh.fingerprint(), 'and the new one');
  t.equal(await servedFingerprint(wh.port, wh.caPem), wh.fingerprint(), 'a new connection is served the new certificate');
  // new connections from the API server see the new certificate; give it a few pods after the reload
  const atReload = n;
  await waitFor(async () => n >= atReload + 3, 'three pods after the reload', 120_000);
  rotating = false;
  await load;
  t.same(refused, [], `${n} pods created during the rotation, none refused`);
  const last = await k.getJson<PodJson>(['pod', `rot-${n - 1}`, '-n', 'erlmcp']);
  t.equal(last.metadata.annotations?.[`${P}status`], 'injected', 'pods after the reload are injected');
});

t.test('SIGTERM: the webhook serves on, not ready, for its shutdown delay; then, with the webhook down, Fail refuses the pod and Ignore admits it without secrets', async (t) => {
  wh.proc.proc.kill('SIGTERM');
  const draining = await wh.proc.waitForLog((l) => l.msg.startsWith('webhook stopping: not ready'), 'the shutdown delay', 15_000);
  t.equal(draining.delaySeconds, 30, 'the delay from --shutdown-delay');
  const during = await create(injectPod('during-shutdown', 'erlmcp', base));
  t.equal(during.metadata.annotations?.[`${P}status`], 'injected', 'a pod created during the delay (a rollout: endpoints not yet updated) is injected, not refused');
  t.ok(containerNames(during).init.some((n) => n.startsWith('erlmcp-secrets')), '...with the agent');
  await wh.stop();
  const down = await k.kubectl(['create', '-f', '-'], { stdin: JSON.stringify(injectPod('down-fail', 'erlmcp', base)) });
  t.not(down.code, 0, 'Fail (the example manifest): refused');
  t.match(down.stderr, /Internal error occurred: failed calling webhook "inject.secrets.erlmcp.io"/);
  t.match(down.stderr, /connection refused/);
  const unlabelled = injectPod('not-labelled', 'erlmcp', base);
  (unlabelled.metadata as { labels: Record<string, string> }).labels = {};
  t.equal((await k.kubectl(['create', '-f', '-'], { stdin: JSON.stringify(unlabelled) })).code, 0, 'pods without the label never reach the webhook (objectSelector): admitted');

  await registerWebhook(k, wh, (w) => (w.failurePolicy = 'Ignore'));
  const ignored = await create(injectPod('down-ignore', 'erlmcp', base));
  t.same(containerNames(ignored), { init: [], app: ['erlmcp'] }, 'Ignore: admitted, without the agent');
  t.notOk(ignored.metadata.annotations?.[`${P}status`], 'and not marked injected');
});
