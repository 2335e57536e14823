// The webhook's own settings: what it injects when a pod's annotations say
// nothing (agent image, Vault address, resources, paths). Read from
// `--config webhook.yaml` with flags on top; validated once at start-up.

import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AgentError } from '../errors.ts';
import { issueLines } from '../config/issues.ts';
import { INJECTION_MODES } from './modes.ts';
import { QUANTITY } from './quantity.ts';

const quantity = z.string().regex(QUANTITY, 'a Kubernetes quantity like "10m", "48Mi" or "1"');
const octalMode = z.string().regex(/^0?[0-7]{3}$/, 'an octal file mode like "0440"');
const absolutePath = z.string().regex(/^\/[^\0]*$/, 'an absolute path');

const resourcesSchema = z.strictObject({
  requests: z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() }).default({ cpu: '10m', memory: '48Mi' }),
  limits: z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() }).default({ memory: '128Mi' }),
});

export const webhookConfigSchema = z.strictObject({
  /** host:port the HTTPS server binds; in a cluster the Service reaches it on the pod IP */
  listen: z.string().default('0.0.0.0:8443'),
  agent: z
    .strictObject({
      image: z.string().min(1).default('ghcr.io/erlmcp/erlmcp-secrets:0.1.0'),
      imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
      /** the container command; unset: the image's ENTRYPOINT (both of our images
       * have the agent there). The subcommand (init/run) goes into args. */
      command: z.array(z.string().min(1)).min(1).optional(),
      /** exec mode: the single-binary image (the app's image has no Node), whose
       * `copy-self DIR` puts the binary into the shared volume without a shell or cp */
      binaryImage: z.string().min(1).default('ghcr.io/erlmcp/erlmcp-secrets:0.1.0-binary'),
      /** may a pod pick its own agent image with secrets.erlmcp.io/image? */
      allowImageOverride: z.boolean().default(false),
      /** when overrides are allowed: the image must start with one of these (empty: any) */
      allowedImagePrefixes: z.array(z.string().min(1)).default([]),
      /** used when the app containers do not say which uid they run as */
      runAsUser: z.int().min(1).default(65532),
      runAsGroup: z.int().min(0).default(65532),
      resources: resourcesSchema.default({ requests: { cpu: '10m', memory: '48Mi' }, limits: { memory: '128Mi' } }),
      /** the agent's health/readiness port inside the pod (probes reach it on the pod IP) */
      port: z.int().min(1).max(65535).default(9102),
    })
    .default({
      image: 'ghcr.io/erlmcp/erlmcp-secrets:0.1.0',
      imagePullPolicy: 'IfNotPresent',
      binaryImage: 'ghcr.io/erlmcp/erlmcp-secrets:0.1.0-binary',
      allowImageOverride: false,
      allowedImagePrefixes: [],
      runAsUser: 65532,
      runAsGroup: 65532,
      resources: { requests: { cpu: '10m', memory: '48Mi' }, limits: { memory: '128Mi' } },
      port: 9102,
    }),
  mode: z.enum(INJECTION_MODES).default('native-sidecar'),
  volume: z
    .strictObject({
      mountPath: absolutePath.default('/run/secrets/erlmcp'),
      sizeLimit: quantity.default('4Mi'),
    })
    .default({ mountPath: '/run/secrets/erlmcp', sizeLimit: '4Mi' }),
  /** file mode of rendered templates unless secrets.erlmcp.io/mode-<name> says otherwise */
  fileMode: octalMode.default('0440'),
  vault: z
    .strictObject({
      address: z.url({ protocol: /^https?$/ }).optional(),
      namespace: z.string().optional(),
      role: z.string().min(1).optional(),
      authMount: z.string().min(1).default('kubernetes'),
      /** CA bundle path inside the agent container (mount it with tlsSecret) */
      caFile: absolutePath.optional(),
      /** a Kubernetes Secret in the pod's namespace mounted at /erlmcp-secrets/tls */
      tlsSecret: z.string().min(1).optional(),
    })
    .default({ authMount: 'kubernetes' }),
  aws: z.strictObject({ region: z.string().min(1).optional() }).default({}),
  azure: z.strictObject({ vaultUrl: z.url({ protocol: /^https$/ }).optional() }).default({}),
  gcp: z.strictObject({ project: z.string().min(1).optional() }).default({}),
  /** defaults for `reload: erlang:...`, following erlmcp's conventions: the node
   * is erlmcp@127.0.0.1 and its cookie is the `value` key of the secret at
   * secret/data/erlang/cookie in Vault */
  erlang: z
    .strictObject({
      node: z.string().regex(/^[^@\s]+@[^@\s]+$/, 'name@host').default('erlmcp@127.0.0.1'),
      cookie: z
        .strictObject({
          /** the secret name a pod uses for the cookie; when the pod declares it, its `key` is the cookie */
          secret: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/).default('cookie'),
          key: z.string().min(1).default('value'),
          /** where to fetch it when the pod does not declare that secret (annotation syntax); unset: the pod must */
          ref: z.string().min(1).optional(),
        })
        .default({ secret: 'cookie', key: 'value', ref: 'vault:secret/data/erlang/cookie' }),
    })
    .default({ node: 'erlmcp@127.0.0.1', cookie: { secret: 'cookie', key: 'value', ref: 'vault:secret/data/erlang/cookie' } }),
  limits: z
    .strictObject({
      annotationValueBytes: z.int().min(1024).default(64 * 1024),
      annotationTotalBytes: z.int().min(1024).default(256 * 1024),
      /** request bodies larger than this get HTTP 413 */
      requestBytes: z.int().min(64 * 1024).default(4 * 1024 * 1024),
    })
    .default({ annotationValueBytes: 64 * 1024, annotationTotalBytes: 256 * 1024, requestBytes: 4 * 1024 * 1024 }),
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
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new AgentError('config', `${file}: cannot read the webhook config (${code}); check --config`, { where: file });
  }
  try {
    return parseYaml(text, { uniqueKeys: true }) ?? {};
  } catch (e) {
    const first = (e as Error).message.split('\n')[0] ?? 'parse error';
    throw new AgentError('config', `${file}: not valid YAML or JSON: ${first}`, { where: file });
  }
}
