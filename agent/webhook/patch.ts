// Pod + plan -> RFC 6902 JSON Patch. Pure. Existing containers are changed
// before anything is inserted at initContainers/0, so every index below
// refers to the pod as it was sent.

import { key, pointerSegment } from './annotation-keys.ts';
import { AGENT_BINARY, classicSidecar, configEnv, copyBinary, credentialMounts, initAgent, nativeSidecar, volumes } from './containers.ts';
import type { InjectionPlan } from './plan.ts';
import { BIN_DIR, NAMES, type Container, type Pod } from './pod-types.ts';

export type PatchOp =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

export function buildPatch(pod: Pod, plan: InjectionPlan): PatchOp[] {
  const ops: PatchOp[] = [];
  const spec = pod.spec;

  if (pod.metadata?.annotations === undefined) ops.push({ op: 'add', path: '/metadata/annotations', value: {} });
  ops.push({ op: 'add', path: `/metadata/annotations/${pointerSegment(key('status'))}`, value: 'injected' });

  appendAll(ops, '/spec/volumes', spec.volumes, volumes(plan));

  const execMode = plan.mode === 'exec';
  (spec.containers ?? []).forEach((c, i) => {
    if (!plan.targetContainers.includes(c.name)) return;
    const at = `/spec/containers/${i}`;
    const mounts = execMode
      ? // the agent runs inside this container and writes the files itself
        [{ name: NAMES.volume, mountPath: plan.mountPath }, { name: NAMES.binVolume, mountPath: BIN_DIR, readOnly: true }, ...credentialMounts(plan)]
      : [{ name: NAMES.volume, mountPath: plan.mountPath, readOnly: true }];
    appendAll(ops, `${at}/volumeMounts`, c.volumeMounts, mounts);
    if (execMode) wrapCommand(ops, at, c, plan);
  });
  (spec.initContainers ?? []).forEach((c, i) => {
    if (!plan.targetInitContainers.includes(c.name)) return;
    appendAll(ops, `/spec/initContainers/${i}/volumeMounts`, c.volumeMounts, [{ name: NAMES.volume, mountPath: plan.mountPath, readOnly: true }]);
  });

  // first in line, so later init containers (migrations...) see the secrets
  const first = plan.mode === 'native-sidecar' ? nativeSidecar(plan) : plan.mode === 'exec' ? copyBinary(plan) : initAgent(plan);
  if (spec.initContainers === undefined) ops.push({ op: 'add', path: '/spec/initContainers', value: [first] });
  else ops.push({ op: 'add', path: '/spec/initContainers/0', value: first });

  if (plan.mode === 'sidecar') ops.push({ op: 'add', path: '/spec/containers/-', value: classicSidecar(plan) });
  return ops;
}

function wrapCommand(ops: PatchOp[], at: string, c: Container, plan: InjectionPlan): void {
  const line = plan.execCommands[c.name]!;
  const command = [AGENT_BINARY, 'exec', '--', ...line];
  ops.push({ op: c.command === undefined ? 'add' : 'replace', path: `${at}/command`, value: command });
  if (c.args !== undefined) ops.push({ op: 'remove', path: `${at}/args` });
  appendAll(ops, `${at}/env`, c.env, [configEnv(plan)]);
}

/** add items to an array that may not exist yet */
function appendAll(ops: PatchOp[], path: string, existing: unknown[] | undefined, items: unknown[]): void {
  if (items.length === 0) return;
  if (existing === undefined) {
    ops.push({ op: 'add', path, value: items });
    return;
  }
  for (const item of items) ops.push({ op: 'add', path: `${path}/-`, value: item });
}
