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
