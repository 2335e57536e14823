// The parts of a pod the webhook reads must have the types the Pod schema
// gives them. The webhook sees the object before the API server validates it,
// so a null container, a null volume mount or a number where a string belongs
// arrives as sent; each is denied here, by its path, instead of failing deeper
// in (an HTTP 500 the operator cannot act on) or being patched into a pod that
// the API server then rejects for a reason the webhook caused.

import { PREFIX } from './annotation-keys.ts';

type Problems = string[];

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'a map' : `a ${typeof v}`;
}

/** every problem with the fields the webhook reads; empty when the pod has the expected shape */
export function podShapeProblems(pod: Record<string, unknown>): Problems {
  const out: Problems = [];
  const metadata = pod.metadata;
  if (metadata !== undefined && !isObject(metadata)) out.push(`metadata: must be a map, got ${kind(metadata)}`);
  else if (metadata !== undefined) annotations(metadata.annotations, out);
  const spec = pod.spec;
  if (!isObject(spec)) {
    out.push(`spec: must be a map, got ${kind(spec)}`);
    return out;
  }
  containers('spec.containers', spec.containers, out, true);
  containers('spec.initContainers', spec.initContainers, out, false);
  list('spec.volumes', spec.volumes, out, (v, at) => named(v, at, 'volume', out));
  if (spec.securityContext !== undefined && !isObject(spec.securityContext)) out.push(`spec.securityContext: must be a map, got ${kind(spec.securityContext)}`);
  return out;
}

function annotations(a: unknown, out: Problems): void {
  if (a === undefined || a === null) return;
  if (!isObject(a)) {
    out.push(`metadata.annotations: must be a map of strings, got ${kind(a)}`);
    return;
  }
  for (const [k, v] of Object.entries(a)) {
    if (typeof v === 'string') continue;
    const where = k.startsWith(PREFIX) ? k : `metadata.annotations[${JSON.stringify(k.slice(0, 80))}]`;
    out.push(`${where}: annotation values are strings; this one is ${kind(v)} (quote it in YAML, e.g. "true")`);
  }
}

function list(path: string, v: unknown, out: Problems, each: (item: unknown, at: string) => void): void {
  if (v === undefined) return;
  if (!Array.isArray(v)) {
    out.push(`${path}: must be a list, got ${kind(v)}`);
    return;
  }
  v.forEach((item, i) => each(item, `${path}[${i}]`));
}

/** a list entry that must be a map with a non-empty string `name` */
function named(v: unknown, at: string, what: string, out: Problems): v is Record<string, unknown> {
  if (!isObject(v)) {
    out.push(`${at}: is ${kind(v)}; every entry must be ${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what} with a name`);
    return false;
  }
  if (typeof v.name !== 'string' || v.name === '') {
    out.push(`${at}.name: must be a non-empty string, got ${kind(v.name)}`);
    return false;
  }
  return true;
}

function containers(path: string, v: unknown, out: Problems, required: boolean): void {
  if (v === undefined && required) {
    out.push(`${path}: the pod has no containers`);
    return;
  }
  list(path, v, out, (c, at) => {
    if (!named(c, at, 'container', out)) return;
    list(`${at}.volumeMounts`, c.volumeMounts, out, (m, mat) => {
      if (!named(m, mat, 'volume mount', out)) return;
      if (typeof m.mountPath !== 'string' || m.mountPath === '') out.push(`${mat}.mountPath: must be a non-empty string, got ${kind(m.mountPath)}`);
      if (m.subPath !== undefined && typeof m.subPath !== 'string') out.push(`${mat}.subPath: must be a string, got ${kind(m.subPath)}`);
    });
    list(`${at}.env`, c.env, out, (e, eat) => named(e, eat, 'environment variable', out));
    list(`${at}.ports`, c.ports, out, (p, pat) => {
      if (!isObject(p)) out.push(`${pat}: is ${kind(p)}; every entry must be a port`);
    });
    for (const field of ['command', 'args'] as const) {
      list(`${at}.${field}`, c[field], out, (a, aat) => {
        if (typeof a !== 'string') out.push(`${aat}: must be a string, got ${kind(a)}`);
      });
    }
    if (c.securityContext !== undefined && !isObject(c.securityContext)) out.push(`${at}.securityContext: must be a map, got ${kind(c.securityContext)}`);
  });
}
