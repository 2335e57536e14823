// The containers and volumes the webhook adds, built from a plan. Pure data.

import type { InjectionPlan } from './plan.ts';
import { BIN_DIR, CONFIG_ENV, NAMES, TLS_DIR, TOKEN_DIR, type Container, type ContainerPort, type Volume, type VolumeMount } from './pod-types.ts';

export const AGENT_BINARY = `${BIN_DIR}/erlmcp-secrets`;

export function securityContext(plan: InjectionPlan): Record<string, unknown> {
  return {
    runAsNonRoot: true,
    runAsUser: plan.runAsUser,
    runAsGroup: plan.runAsGroup,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function configEnv(plan: InjectionPlan): { name: string; value: string } {
  return { name: CONFIG_ENV, value: JSON.stringify(plan.agentConfig) };
}

/** what the agent itself needs mounted: the CA secret and the projected token */
export function credentialMounts(plan: InjectionPlan): VolumeMount[] {
  const out: VolumeMount[] = [];
  if (plan.tlsSecret !== undefined) out.push({ name: NAMES.tlsVolume, mountPath: TLS_DIR, readOnly: true });
  if (plan.projectToken) out.push({ name: NAMES.tokenVolume, mountPath: TOKEN_DIR, readOnly: true });
  return out;
}

function base(plan: InjectionPlan, name: string, subcommand: string): Container {
  return {
    name,
    image: plan.image,
    imagePullPolicy: plan.imagePullPolicy,
    ...(plan.agentCommand ? { command: plan.agentCommand } : {}),
    args: [subcommand],
    env: [configEnv(plan)],
    resources: plan.resources,
    securityContext: securityContext(plan),
    volumeMounts: [{ name: NAMES.volume, mountPath: plan.mountPath }, ...credentialMounts(plan), ...plan.agentExtraMounts],
  };
}

function httpProbe(plan: InjectionPlan, path: string, periodSeconds: number, failureThreshold: number): Record<string, unknown> {
  // no host: the kubelet probes the pod IP, which is why the agent listens on 0.0.0.0
  return { httpGet: { path, port: plan.port, scheme: 'HTTP' }, periodSeconds, timeoutSeconds: 1, failureThreshold };
}

function ports(plan: InjectionPlan): ContainerPort[] {
  return [{ name: 'secrets-http', containerPort: plan.port, protocol: 'TCP' }];
}

/** Kubernetes >= 1.29: an init container with restartPolicy Always. The app
 * containers start after its startup probe passes (first render done), and
 * the kubelet stops it once the app containers have ended (Jobs finish). */
export function nativeSidecar(plan: InjectionPlan): Container {
  return {
    ...base(plan, NAMES.agent, 'run'),
    restartPolicy: 'Always',
    ports: ports(plan),
    startupProbe: httpProbe(plan, '/readyz', 1, plan.startupFailureThreshold),
    livenessProbe: httpProbe(plan, '/healthz', 10, 3),
  };
}

/** the gate: fetch, validate, render once, exit (sidecar and init-only modes) */
export function initAgent(plan: InjectionPlan): Container {
  return base(plan, NAMES.initAgent, 'init');
}

/** classic sidecar for clusters before 1.29: a regular container next to the app */
export function classicSidecar(plan: InjectionPlan): Container {
  return { ...base(plan, NAMES.agent, 'run'), ports: ports(plan), livenessProbe: httpProbe(plan, '/healthz', 10, 3) };
}

/** exec mode: puts the agent binary where the app container can run it. The
 * single-binary image copies itself (`copy-self`): no shell or cp needed, and
 * the binary runs in any glibc-based app image without Node. */
export function copyBinary(plan: InjectionPlan): Container {
  return {
    name: NAMES.copyBinary,
    image: plan.binaryImage,
    imagePullPolicy: plan.imagePullPolicy,
    args: ['copy-self', AGENT_BINARY],
    resources: plan.resources,
    securityContext: securityContext(plan),
    volumeMounts: [{ name: NAMES.binVolume, mountPath: BIN_DIR }],
  };
}

export function volumes(plan: InjectionPlan): Volume[] {
  const out: Volume[] = [{ name: NAMES.volume, emptyDir: { medium: 'Memory', sizeLimit: plan.volumeSizeLimit } }];
  if (plan.mode === 'exec') out.push({ name: NAMES.binVolume, emptyDir: {} });
  if (plan.tlsSecret !== undefined) out.push({ name: NAMES.tlsVolume, secret: { secretName: plan.tlsSecret } });
  if (plan.projectToken) {
    const audience = plan.tokenAudience !== undefined ? { audience: plan.tokenAudience } : {};
    out.push({ name: NAMES.tokenVolume, projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3600, ...audience } }] } });
  }
  return out;
}
