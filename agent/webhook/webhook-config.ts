// The webhook's own settings: what it injects when a pod's annotations say
// nothing (agent image, Vault address, resources, paths). Read from
// `--config webhook.yaml` with flags on top; validated once at start-up.

import { isReadRefusal, readBounded, refusalDetail } from '../files/bounded-read.ts';
import { READ_LIMITS } from '../files/read-limits.ts';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod/mini';
import '../config/zod-setup.ts';
import { AgentError } from '../errors.ts';
import { issueLines } from '../config/issues.ts';
import { INJECTION_MODES } from './modes.ts';
import { BOUNDS, quantityProblem, type QuantityBounds } from './quantity.ts';
import { mountPathProblem } from './mount-path.ts';

/** a quantity within the same bounds the annotations get */
const quantity = (b: QuantityBounds) =>
  z.string().check(z.superRefine((v: string, ctx) => {
    const p = quantityProblem(v, b);
    if (p !== undefined) ctx.addIssue({ code: 'custom', message: p, input: v });
  }));
const octalMode = z.string().check(z.regex(/^0?[0-7]{3}$/, 'an octal file mode like "0440"'));
const absolutePath = z.string().check(z.regex(/^\/[^\0]*$/, 'an absolute path'));
const nonEmpty = () => z.string().check(z.minLength(1));

/** Every injected container gets requests and limits for both CPU and memory:
 * a namespace with a ResourceQuota on limits.cpu or limits.memory refuses any
 * pod with a container that lacks one. `init` spends 0.1-0.2 s of CPU and
 * peaks near 60 MB (measured from the bundle), so a 100m CPU limit starts it
 * within about 2 s and 128Mi leaves room for large secrets. */
export const DEFAULT_RESOURCES: { readonly requests: { readonly cpu: string; readonly memory: string }; readonly limits: { readonly cpu: string; readonly memory: string } } = { requests: { cpu: '10m', memory: '48Mi' }, limits: { cpu: '100m', memory: '128Mi' } };

const resourcesSchema = z.strictObject({
  requests: z._default(
    z.strictObject({ cpu: z._default(quantity(BOUNDS.cpuRequest), DEFAULT_RESOURCES.requests.cpu), memory: z._default(quantity(BOUNDS.memoryRequest), DEFAULT_RESOURCES.requests.memory) }),
    () => ({ ...DEFAULT_RESOURCES.requests }),
  ),
  limits: z._default(
    z.strictObject({ cpu: z._default(quantity(BOUNDS.cpuLimit), DEFAULT_RESOURCES.limits.cpu), memory: z._default(quantity(BOUNDS.memoryLimit), DEFAULT_RESOURCES.limits.memory) }),
    () => ({ ...DEFAULT_RESOURCES.limits }),
  ),
});

export const webhookConfigSchema = z.strictObject({
  /** host:port the HTTPS server binds; in a cluster the Service reaches it on the pod IP */
  listen: z._default(z.string(), '0.0.0.0:8443'),
  agent: z._default(
    z.strictObject({
      image: z._default(nonEmpty(), 'ghcr.io/erlmcp/erlmcp-secrets:0.1.0'),
      imagePullPolicy: z._default(z.enum(['Always', 'IfNotPresent', 'Never']), 'IfNotPresent'),
      /** the container command; unset: the image's ENTRYPOINT (both of our images
       * have the agent there). The subcommand (init/run) goes into args. */
      command: z.optional(z.array(nonEmpty()).check(z.minLength(1))),
      /** exec mode: the single-binary image (the app's image has no Node), whose
       * `copy-self DIR` puts the binary into the shared volume without a shell or cp */
      binaryImage: z._default(nonEmpty(), 'ghcr.io/erlmcp/erlmcp-secrets:0.1.0-binary'),
      /** may a pod pick its own agent image with secrets.erlmcp.io/image? */
      allowImageOverride: z._default(z.boolean(), false),
      /** when overrides are allowed: the image must start with one of these (empty: any) */
      allowedImagePrefixes: z._default(z.array(nonEmpty()), []),
      /** used when the app containers do not say which uid they run as */
      runAsUser: z._default(z.int().check(z.gte(1)), 65532),
      runAsGroup: z._default(z.int().check(z.gte(0)), 65532),
      resources: z._default(resourcesSchema, () => structuredClone(DEFAULT_RESOURCES)),
      /** the agent's health/readiness port inside the pod (probes reach it on the pod IP) */
      port: z._default(z.int().check(z.gte(1), z.lte(65535)), 9102),
    }),
    {
      image: 'ghcr.io/erlmcp/erlmcp-secrets:0.1.0',
      imagePullPolicy: 'IfNotPresent',
      binaryImage: 'ghcr.io/erlmcp/erlmcp-secrets:0.1.0-binary',
      allowImageOverride: false,
      allowedImagePrefixes: [],
      runAsUser: 65532,
      runAsGroup: 65532,
      resources: structuredClone(DEFAULT_RESOURCES),
      port: 9102,
    },
  ),
  mode: z._default(z.enum(INJECTION_MODES), 'native-sidecar'),
  volume: z._default(
    z.strictObject({
      mountPath: z._default(
        absolutePath.check(z.superRefine((v: string, ctx) => {
          const p = mountPathProblem(v.length > 1 ? v.replace(/\/+$/, '') : v);
          if (p !== undefined) ctx.addIssue({ code: 'custom', message: p, input: v });
        })),
        '/run/secrets/erlmcp',
      ),
      sizeLimit: z._default(quantity(BOUNDS.volumeSize), '4Mi'),
    }),
    { mountPath: '/run/secrets/erlmcp', sizeLimit: '4Mi' },
  ),
  /** file mode of rendered templates unless secrets.erlmcp.io/mode-<name> says otherwise */
  fileMode: z._default(octalMode, '0440'),
  vault: z._default(
    z.strictObject({
      address: z.optional(z.url({ protocol: /^https?$/ })),
      namespace: z.optional(z.string()),
      role: z.optional(nonEmpty()),
      authMount: z._default(nonEmpty(), 'kubernetes'),
      /** CA bundle path inside the agent container (mount it with tlsSecret) */
      caFile: z.optional(absolutePath),
      /** a Kubernetes Secret in the pod's namespace mounted at /erlmcp-secrets/tls */
      tlsSecret: z.optional(nonEmpty()),
    }),
    { authMount: 'kubernetes' },
  ),
  aws: z._default(z.strictObject({ region: z.optional(nonEmpty()) }), {}),
  azure: z._default(z.strictObject({ vaultUrl: z.optional(z.url({ protocol: /^https$/ })) }), {}),
  gcp: z._default(z.strictObject({ project: z.optional(nonEmpty()) }), {}),
  /** defaults for `reload: erlang:...`, following erlmcp's conventions: the node
   * is erlmcp@127.0.0.1 and its cookie is the `value` key of the secret at
   * secret/data/erlang/cookie in Vault */
  erlang: z._default(
    z.strictObject({
      node: z._default(z.string().check(z.regex(/^[^@\s]+@[^@\s]+$/, 'name@host')), 'erlmcp@127.0.0.1'),
      cookie: z._default(
        z.strictObject({
          /** the secret name a pod uses for the cookie; when the pod declares it, its `key` is the cookie */
          secret: z._default(z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9_-]*$/)), 'cookie'),
          key: z._default(nonEmpty(), 'value'),
          /** where to fetch it when the pod does not declare that secret (annotation syntax); unset: the pod must */
          ref: z.optional(nonEmpty()),
        }),
        { secret: 'cookie', key: 'value', ref: 'vault:secret/data/erlang/cookie' },
      ),
    }),
    { node: 'erlmcp@127.0.0.1', cookie: { secret: 'cookie', key: 'value', ref: 'vault:secret/data/erlang/cookie' } },
  ),
  /** after SIGTERM: /readyz answers 503 and requests are still served this
   * long, while the pod leaves the Service's endpoints; closing at once would
   * refuse the API server's calls that still reach this pod (with
   * failurePolicy Fail: pods refused during every rollout) */
  shutdownDelaySeconds: z._default(z.int().check(z.gte(0), z.lte(120)), 5),
  limits: z._default(
    z.strictObject({
      annotationValueBytes: z._default(z.int().check(z.gte(1024)), 64 * 1024),
      annotationTotalBytes: z._default(z.int().check(z.gte(1024)), 256 * 1024),
      /** request bodies larger than this get HTTP 413 */
      requestBytes: z._default(z.int().check(z.gte(64 * 1024)), 4 * 1024 * 1024),
    }),
    { annotationValueBytes: 64 * 1024, annotationTotalBytes: 256 * 1024, requestBytes: 4 * 1024 * 1024 },
  ),
});

export type WebhookConfig = z.output<typeof webhookConfigSchema>;

/** every default, for tests and for a webhook started without --config */
export function defaultWebhookConfig(): WebhookConfig {
  return webhookConfigSchema.parse({});
}

export function parseWebhookConfig(raw: unknown, origin: string): WebhookConfig {
  const r = webhookConfigSchema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const problems = issueLines(r.error).map((l) => `${origin}: ${l}`);
  const head = problems.length === 1 ? problems[0]! : `${origin}: ${problems.length} problems in the webhook config`;
  throw new AgentError('config', head, { where: origin, problems });
}

export async function loadWebhookConfig(file: string | undefined): Promise<unknown> {
  if (file === undefined) return {};
  let text: string;
  try {
    text = (await readBounded(file, READ_LIMITS.config)).toString('utf8');
  } catch (e) {
    if (!isReadRefusal(e)) throw e;
    throw new AgentError('config', `${file}: cannot read the webhook config${refusalDetail(e)}; check --config`, { where: file });
  }
  try {
    return parseYaml(text, { uniqueKeys: true }) ?? {};
  } catch (e) {
    const first = (e as Error).message.split('\n')[0] ?? 'parse error';
    throw new AgentError('config', `${file}: not valid YAML or JSON: ${first}`, { where: file });
  }
}
