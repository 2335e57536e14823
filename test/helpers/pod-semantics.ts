// Rules the API server enforces on a Pod that a JSON schema cannot express
// (from k8s.io/kubernetes/pkg/apis/core/validation): unique names, mounts that
// name a volume, restartPolicy and probes only where allowed.

interface C {
  name: string;
  restartPolicy?: string;
  volumeMounts?: { name: string; mountPath: string }[];
  startupProbe?: unknown;
  livenessProbe?: unknown;
  readinessProbe?: unknown;
  lifecycle?: unknown;
}

export function podSemanticProblems(pod: { spec: { containers: C[]; initContainers?: C[]; volumes?: { name: string }[] } }): string[] {
  const out: string[] = [];
  const containers = pod.spec.containers ?? [];
  const inits = pod.spec.initContainers ?? [];
  const names = [...containers, ...inits].map((c) => c.name);
  for (const n of new Set(names)) if (names.filter((x) => x === n).length > 1) out.push(`container name "${n}" is used twice`);
  const volumes = (pod.spec.volumes ?? []).map((v) => v.name);
  for (const v of new Set(volumes)) if (volumes.filter((x) => x === v).length > 1) out.push(`volume name "${v}" is used twice`);
  for (const c of [...containers, ...inits]) {
    const paths = new Set<string>();
    for (const m of c.volumeMounts ?? []) {
      if (!volumes.includes(m.name)) out.push(`container "${c.name}" mounts volume "${m.name}", which the pod does not declare`);
      if (paths.has(m.mountPath)) out.push(`container "${c.name}" mounts ${m.mountPath} twice`);
      paths.add(m.mountPath);
    }
  }
  for (const c of containers) if (c.restartPolicy !== undefined) out.push(`container "${c.name}": restartPolicy is only allowed on init containers`);
  for (const c of inits) {
    if (c.restartPolicy !== undefined && c.restartPolicy !== 'Always') out.push(`init container "${c.name}": restartPolicy may only be Always`);
    if (c.restartPolicy !== 'Always' && (c.startupProbe || c.livenessProbe || c.readinessProbe || c.lifecycle)) {
      out.push(`init container "${c.name}": probes and lifecycle are only allowed on sidecar (restartPolicy Always) init containers`);
    }
  }
  return out;
}

interface SecCtx {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
}

const RESTRICTED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

/** The "restricted" Pod Security Standard (kubernetes.io/docs/concepts/security/pod-security-standards),
 * for the given containers (all when `only` is absent). */
export function restrictedProblems(
  pod: { spec: { containers: (C & { securityContext?: SecCtx })[]; initContainers?: (C & { securityContext?: SecCtx })[]; volumes?: Record<string, unknown>[]; securityContext?: SecCtx } },
  only?: string[],
): string[] {
  const out: string[] = [];
  const podSc = pod.spec.securityContext ?? {};
  for (const v of pod.spec.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (!type || !RESTRICTED_VOLUMES.includes(type)) out.push(`volume "${String(v.name)}": type ${type} is not allowed`);
  }
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    if (only && !only.includes(c.name)) continue;
    const sc = c.securityContext ?? {};
    if (sc.privileged) out.push(`${c.name}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${c.name}: allowPrivilegeEscalation must be false`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${c.name}: capabilities must drop ALL`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== 'NET_BIND_SERVICE') out.push(`${c.name}: adds capability ${cap}`);
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) out.push(`${c.name}: runAsNonRoot must be true`);
    if ((sc.runAsUser ?? podSc.runAsUser) === 0) out.push(`${c.name}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') out.push(`${c.name}: seccompProfile must be RuntimeDefault or Localhost`);
  }
  return out;
}
