// Pod + webhook defaults -> skip, deny (every problem, each naming its
// annotation), or an injection plan that the patch builder turns into JSON
// Patch. Pure.

import { parseDuration } from '../config/duration.ts';
import { dict } from '../config/dict.ts';
import { key } from './annotation-keys.ts';
import { mountPathProblem } from './mount-path.ts';
import { podShapeProblems } from './pod-shape.ts';
import { quantityValue } from './quantity.ts';
import { parseAnnotations, type AnnotationSettings } from './annotations.ts';
import { buildAgentConfig } from './agent-config.ts';
import type { InjectionMode } from './modes.ts';
import { CONFIG_ENV, NAMES, TOKEN_DIR, type Container, type Pod, type VolumeMount } from './pod-types.ts';
import type { WebhookConfig } from './webhook-config.ts';

export interface InjectionPlan {
  mode: InjectionMode;
  image: string;
  imagePullPolicy: string;
  /** the agent executable in its image; init/run is appended */
  /** unset: the image's ENTRYPOINT */
  agentCommand: string[] | undefined;
  /** exec mode: copies the agent binary; the destination is appended */
  /** exec mode: the single-binary image that copies itself into the shared volume */
  binaryImage: string;
  mountPath: string;
  volumeSizeLimit: string;
  /** app containers that get the secrets volume */
  targetContainers: string[];
  /** init containers that get the secrets volume (named in secrets.erlmcp.io/containers) */
  targetInitContainers: string[];
  /** exec mode: container name -> the command line the agent wraps */
  execCommands: Record<string, string[]>;
  runAsUser: number;
  runAsGroup: number;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  port: number;
  /** startup probe: one try a second for the init timeout plus a margin */
  startupFailureThreshold: number;
  tlsSecret?: string;
  /** the pod opted out of the automatic service-account token: project one for Vault */
  projectToken: boolean;
  /** the projected token's audience (vault-jwt-audience); absent: the API server's */
  tokenAudience?: string;
  /** app volumes the agent also needs: those holding file: provider paths */
  agentExtraMounts: VolumeMount[];
  /** the agent config as JSON-ready data, never parsed (durations stay as written) */
  agentConfig: Record<string, unknown>;
}

export type PlanResult =
  | { kind: 'skip'; reason: string }
  | { kind: 'deny'; problems: string[] }
  | { kind: 'inject'; plan: InjectionPlan; warnings: string[] };

const OUR_CONTAINERS = new Set<string>([NAMES.agent, NAMES.initAgent, NAMES.copyBinary]);

export function alreadyInjected(pod: Pod): boolean {
  if (pod.metadata?.annotations?.[key('status')] === 'injected') return true;
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  return all.some((c) => OUR_CONTAINERS.has(c.name));
}

export function planInjection(pod: Pod, cfg: WebhookConfig): PlanResult {
  const meta: unknown = pod.metadata;
  const rawAnnotations: unknown = meta !== null && typeof meta === 'object' ? (meta as Record<string, unknown>).annotations : undefined;
  const annotations = (rawAnnotations !== null && typeof rawAnnotations === 'object' && !Array.isArray(rawAnnotations) ? rawAnnotations : {}) as Record<string, unknown>;
  const inject = Object.hasOwn(annotations, key('inject')) ? annotations[key('inject')] : undefined;
  if (inject === undefined) return { kind: 'skip', reason: `no ${key('inject')} annotation` };
  if (inject === 'false') return { kind: 'skip', reason: `${key('inject')} is "false"` };
  // the pod asks for injection: from here every field the webhook reads must have its type
  const shape = podShapeProblems(pod as unknown as Record<string, unknown>);
  if (shape.length) return { kind: 'deny', problems: shape };
  if (alreadyInjected(pod)) return { kind: 'skip', reason: 'already injected' };

  const parsed = parseAnnotations(annotations as Record<string, string>, cfg.limits);
  if (!parsed.settings) return { kind: 'deny', problems: parsed.problems };
  const s = parsed.settings;
  const problems: string[] = [...parsed.problems];
  if (s.status !== undefined) problems.push(`${key('status')}: is written by the webhook ("injected"); remove it from the pod template`);

  const mode = pickMode(s, cfg, problems);
  const image = pickImage(s, cfg, problems);
  const spec = pod.spec;
  const containers = spec.containers ?? [];
  const initContainers = spec.initContainers ?? [];
  const mountPath = s.volumeMountPath ?? cfg.volume.mountPath;
  const badMount = mountPathProblem(mountPath);
  if (badMount !== undefined) problems.push(`${key('volume-mount-path')}: ${badMount}`);

  // which containers get the volume
  const targets = [...new Set(s.containers ?? containers.map((c) => c.name))];
  const targetContainers: string[] = [];
  const targetInitContainers: string[] = [];
  for (const name of targets) {
    if (containers.some((c) => c.name === name)) targetContainers.push(name);
    else if (initContainers.some((c) => c.name === name) && mode !== 'exec') targetInitContainers.push(name);
    else {
      const known = (mode === 'exec' ? containers : [...containers, ...initContainers]).map((c) => `"${c.name}"`).join(', ');
      problems.push(`${key('containers')}: the pod has no ${mode === 'exec' ? 'app ' : ''}container "${name}" (it has ${known})`);
    }
  }
  for (const name of [...targetContainers, ...targetInitContainers]) {
    const c = [...containers, ...initContainers].find((x) => x.name === name)!;
    const clash = (c.volumeMounts ?? []).find((m) => trimSlash(m.mountPath) === mountPath);
    if (clash) problems.push(`${key('volume-mount-path')}: container "${name}" already mounts volume "${clash.name}" at ${mountPath}; pick another path`);
  }
  for (const v of spec.volumes ?? []) {
    if (Object.values(NAMES).includes(v.name as never)) problems.push(`${key('inject')}: the pod already has a volume named "${v.name}", a name the webhook needs; rename it`);
  }

  const port = s.port ?? cfg.agent.port;
  if (mode === 'native-sidecar' || mode === 'sidecar') {
    for (const c of [...containers, ...initContainers]) {
      if ((c.ports ?? []).some((p) => p.containerPort === port)) {
        problems.push(`${key('port')}: container "${c.name}" already uses port ${port}, which the agent listens on for its probes; pick another with ${key('port')}`);
      }
    }
  }

  const execCommands = dict<string[]>();
  if (mode === 'exec') {
    for (const name of targetContainers) {
      const c = containers.find((x) => x.name === name)!;
      if ((c.env ?? []).some((e) => e.name === CONFIG_ENV)) {
        problems.push(`${key('mode')}: container "${name}" already sets ${CONFIG_ENV}; in mode exec the webhook sets it from the annotations, so remove it (or use ${key('config')})`);
      }
      const cmd = execCommandFor(c, s);
      if (cmd) execCommands[name] = cmd;
      else if (!parsed.refused.has('exec-command')) {
        const narrow = s.containers === undefined && containers.length > 1 ? `, or name only the containers that need secrets in ${key('containers')}` : '';
        problems.push(
          `${key('mode')}: exec must know what container "${name}" runs, and its spec has no command; the webhook never guesses an image's entrypoint. Set command (and args) on the container, or ${key('exec-command')} to a JSON array such as ["/opt/erlmcp/bin/erlmcp", "foreground"]${narrow}`,
        );
      }
    }
  } else if (s.execCommand !== undefined) {
    problems.push(`${key('exec-command')}: applies only with ${key('mode')}: exec`);
  }

  const { runAsUser, runAsGroup } = pickIdentity(pod, [...targetContainers, ...targetInitContainers], s, cfg);
  const quit = s.quit ?? (mode === 'sidecar' && (spec.restartPolicy === 'Never' || spec.restartPolicy === 'OnFailure'));
  if (s.quit === true && mode !== 'sidecar') problems.push(`${key('quit')}: POST /quit is only for mode sidecar (a native sidecar or init container stops by itself)`);
  const tlsSecret = s.vaultTlsSecret ?? cfg.vault.tlsSecret;
  const automountOff = spec.automountServiceAccountToken === false;

  const built = buildAgentConfig({
    settings: s,
    defaults: cfg,
    mountPath,
    listen: mode === 'native-sidecar' || mode === 'sidecar' ? `0.0.0.0:${port}` : undefined,
    quit,
    execMode: mode === 'exec',
    sharedProcessNamespace: spec.shareProcessNamespace === true,
    ...(automountOff ? { jwtFile: `${TOKEN_DIR}/token` } : {}),
    ...(s.vaultJwtAudience !== undefined ? { audienceJwtFile: `${TOKEN_DIR}/token` } : {}),
    ...(tlsSecret !== undefined ? { tlsSecret } : {}),
  });
  problems.push(...built.problems);
  const mounts = fileProviderMounts(built.config, mode === 'exec' ? containers.filter((c) => targetContainers.includes(c.name)) : [...containers, ...initContainers]);
  problems.push(...mounts.problems);
  const resources = {
    requests: compact({ cpu: s.cpuRequest ?? cfg.agent.resources.requests.cpu, memory: s.memoryRequest ?? cfg.agent.resources.requests.memory }),
    limits: compact({ cpu: s.cpuLimit ?? cfg.agent.resources.limits.cpu, memory: s.memoryLimit ?? cfg.agent.resources.limits.memory }),
  };
  problems.push(...requestsWithinLimits(resources));
  if (problems.length) return { kind: 'deny', problems: [...new Set(problems)] };

  // only Vault's kubernetes and jwt auth read the token; other providers bring their own identity
  const projectToken = (automountOff || s.vaultJwtAudience !== undefined) && Object.values((built.config.providers ?? {}) as Record<string, { type?: unknown; auth?: { jwtFile?: unknown } }>).some((p) => p.type === 'vault' && p.auth?.jwtFile === `${TOKEN_DIR}/token`);
  const initTimeoutMs = initTimeout(built.config);
  return {
    kind: 'inject',
    warnings: built.warnings,
    plan: {
      mode,
      image,
      imagePullPolicy: cfg.agent.imagePullPolicy,
      agentCommand: cfg.agent.command,
      binaryImage: cfg.agent.binaryImage,
      mountPath,
      volumeSizeLimit: s.volumeSize ?? cfg.volume.sizeLimit,
      targetContainers,
      targetInitContainers,
      execCommands,
      runAsUser,
      runAsGroup,
      resources,
      port,
      startupFailureThreshold: Math.ceil(initTimeoutMs / 1000) + 10,
      ...(tlsSecret !== undefined ? { tlsSecret } : {}),
      projectToken,
      ...(s.vaultJwtAudience !== undefined ? { tokenAudience: s.vaultJwtAudience } : {}),
      agentExtraMounts: mode === 'exec' ? [] : mounts.mounts,
      agentConfig: built.config,
    },
  };
}

function pickMode(s: AnnotationSettings, cfg: WebhookConfig, problems: string[]): InjectionMode {
  if (s.prePopulateOnly === true) {
    if (s.mode !== undefined && s.mode !== 'init-only') {
      problems.push(`${key('pre-populate-only')}: "true" means mode init-only, but ${key('mode')} is "${s.mode}"; keep one of them`);
    }
    return 'init-only';
  }
  return s.mode ?? cfg.mode;
}

function pickImage(s: AnnotationSettings, cfg: WebhookConfig, problems: string[]): string {
  if (s.image === undefined) return cfg.agent.image;
  if (!cfg.agent.allowImageOverride) {
    problems.push(`${key('image')}: this webhook does not allow pods to choose the agent image (agent.allowImageOverride is false); remove the annotation`);
  } else if (cfg.agent.allowedImagePrefixes.length > 0 && !cfg.agent.allowedImagePrefixes.some((p) => s.image!.startsWith(p))) {
    problems.push(`${key('image')}: "${s.image}" is not under an allowed prefix (${cfg.agent.allowedImagePrefixes.join(', ')})`);
  }
  return s.image;
}

/** the full command line the exec wrapper runs, or undefined when only the image knows it */
export function execCommandFor(c: Container, s: AnnotationSettings): string[] | undefined {
  if (c.command && c.command.length > 0) return [...c.command, ...(c.args ?? [])];
  if (s.execCommand) return [...s.execCommand, ...(c.args ?? [])];
  return undefined;
}

/** Run the agent as the app's uid when the pod says which it is, so files
 * with mode 0400/0440 are readable by the app without any group setup. */
function pickIdentity(pod: Pod, names: string[], s: AnnotationSettings, cfg: WebhookConfig): { runAsUser: number; runAsGroup: number } {
  const podSc = pod.spec.securityContext ?? {};
  const all = [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? [])].filter((c) => names.includes(c.name));
  const uids = new Set(all.map((c) => c.securityContext?.runAsUser ?? podSc.runAsUser));
  const gids = new Set(all.map((c) => c.securityContext?.runAsGroup ?? podSc.runAsGroup));
  const [uid] = uids;
  const [gid] = gids;
  const appUid = uids.size === 1 && typeof uid === 'number' && uid > 0 ? uid : undefined;
  const appGid = gids.size === 1 && typeof gid === 'number' ? gid : undefined;
  return { runAsUser: s.runAsUser ?? appUid ?? cfg.agent.runAsUser, runAsGroup: s.runAsGroup ?? appGid ?? cfg.agent.runAsGroup };
}

/** A file provider reads from the agent's own filesystem: every path it reads
 * (the entry a secret names, e.g. /etc/erlmcp/k8s-secrets/db, or the
 * provider's whole directory) must lie on a volume some app container mounts,
 * at that path or above it; the agent gets the same mount. */
function fileProviderMounts(config: Record<string, unknown>, containers: Container[]): { mounts: VolumeMount[]; problems: string[] } {
  const providers = (config.providers ?? {}) as Record<string, { type?: unknown; path?: unknown }>;
  const secrets = Object.values((config.secrets ?? {}) as Record<string, { provider?: unknown; path?: unknown }>);
  const all = containers.flatMap((c) => c.volumeMounts ?? []);
  const mountFor = (path: string): VolumeMount | undefined =>
    all.filter((m) => path === trimSlash(m.mountPath) || path.startsWith(`${trimSlash(m.mountPath)}/`)).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  const mounts: VolumeMount[] = [];
  const problems: string[] = [];
  const use = (m: VolumeMount) => {
    if (!mounts.some((x) => x.name === m.name && x.mountPath === m.mountPath)) {
      mounts.push({ name: m.name, mountPath: m.mountPath, readOnly: true, ...(typeof m.subPath === 'string' ? { subPath: m.subPath } : {}) });
    }
  };
  for (const [name, p] of Object.entries(providers)) {
    if (p.type !== 'file' || typeof p.path !== 'string' || !p.path.startsWith('/')) continue;
    const dir = trimSlash(p.path);
    const whole = mountFor(dir);
    if (whole) {
      use(whole);
      continue;
    }
    // the directory itself is not mounted: each entry read from it must be
    const entries = secrets.filter((x) => x.provider === name).map((x) => (typeof x.path === 'string' && x.path !== '' ? `${dir === '/' ? '' : dir}/${x.path}` : dir));
    const by = name.startsWith('file-') ? key(`secret-${name.slice('file-'.length)}`) : key('config');
    for (const path of entries.length ? entries : [dir]) {
      const m = mountFor(path);
      if (m) use(m);
      else problems.push(`${by}: ${path} is not on any volume the pod's containers mount; the agent reads files only from volumes it can share (mount the Secret or ConfigMap in the app container, at that path or above it)`);
    }
  }
  return { mounts, problems };
}

/** Kubernetes refuses a pod whose request exceeds its limit */
function requestsWithinLimits(r: { requests: Record<string, string>; limits: Record<string, string> }): string[] {
  const out: string[] = [];
  for (const [res, reqKey, limKey] of [['cpu', 'cpu-request', 'cpu-limit'], ['memory', 'memory-request', 'memory-limit']] as const) {
    const req = r.requests[res];
    const lim = r.limits[res];
    if (req === undefined || lim === undefined) continue;
    const rv = quantityValue(req);
    const lv = quantityValue(lim);
    if (rv !== undefined && lv !== undefined && rv > lv) {
      out.push(`${key(reqKey)}: the agent's ${res} request ${req} is more than its limit ${lim}, which Kubernetes refuses; raise ${key(limKey)} or lower the request`);
    }
  }
  return out;
}

function trimSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

function initTimeout(config: Record<string, unknown>): number {
  const t = (config.init as { timeout?: unknown } | undefined)?.timeout;
  if (typeof t === 'number') return t * 1000;
  if (typeof t === 'string') return parseDuration(t) ?? 120_000;
  return 120_000;
}

function compact(r: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).filter((e): e is [string, string] => e[1] !== undefined));
}

