// Helm for the chart tests and the real-API-server harness: the pinned
// binary test/setup/install-helm.sh builds into the shared cache, and
// `helm template` / `helm lint` run on charts/erlmcp-secrets with values
// given as objects (written to a temporary file, never on the command line).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Test } from 'tap';
import { requireTool } from './require-tool.ts';

export const HELM_VERSION = 'v4.3.2';
export const INSTALL_HELM = 'bash test/setup/install-helm.sh';
export const CHART = path.resolve(import.meta.dirname, '../../charts/erlmcp-secrets');

export function helmPath(): string {
  const root = process.env.ERLMCP_SECRETS_CACHE || path.join(homedir(), '.cache', 'erlmcp-secrets');
  return path.join(root, `helm-${HELM_VERSION}`, 'helm');
}

/** fails the test file (with the install command) when the pinned helm is missing */
export function requireHelm(t: Test): string | false {
  return requireTool(t, helmPath(), ['version'], INSTALL_HELM);
}

export interface HelmRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** runs helm with `values` (if any) as a values file; HOME and helm's own
 * state go to a temporary directory so no user config or repository cache
 * leaks in */
export function helm(args: string[], values?: unknown): HelmRun {
  const dir = mkdtempSync(path.join(tmpdir(), 'erlmcp-helm-'));
  try {
    const extra: string[] = [];
    if (values !== undefined) {
      const file = path.join(dir, 'values.json');
      writeFileSync(file, JSON.stringify(values));
      extra.push('-f', file);
    }
    const env = { PATH: process.env.PATH ?? '', HOME: dir, HELM_CACHE_HOME: path.join(dir, 'cache'), HELM_CONFIG_HOME: path.join(dir, 'config'), HELM_DATA_HOME: path.join(dir, 'data') };
    const r = spawnSync(helmPath(), [...args, ...extra], { encoding: 'utf8', env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: unknown };

export interface Rendered {
  objects: K8sObject[];
  /** the raw `helm template` output */
  text: string;
}

export const RELEASE = 'erlmcp-secrets';
export const NAMESPACE = 'erlmcp-secrets';

/** `helm template` of the chart; throws with helm's stderr when it refuses */
export function helmTemplate(values: unknown = {}, opts: { release?: string; namespace?: string } = {}): Rendered {
  const r = helm(['template', opts.release ?? RELEASE, CHART, '--namespace', opts.namespace ?? NAMESPACE], values);
  if (r.status !== 0) throw new Error(`helm template failed (${r.status}): ${r.stderr.trim()}`);
  const objects: K8sObject[] = [];
  for (const d of parseAllDocuments(r.stdout, { uniqueKeys: true }) as unknown as Array<{ errors: Error[]; toJS(): unknown }>) {
    if (d.errors.length > 0) throw new Error(`helm template printed invalid YAML: ${d.errors[0]!.message}`);
    const obj = d.toJS() as K8sObject | null;
    if (obj !== null) objects.push(obj);
  }
  return { objects, text: r.stdout };
}

/** the install notes (NOTES.txt) as `helm install --dry-run=client` prints them, no cluster needed */
export function helmNotes(values: unknown = {}): string {
  const r = helm(['install', RELEASE, CHART, '--namespace', NAMESPACE, '--dry-run=client'], values);
  if (r.status !== 0) throw new Error(`helm install --dry-run=client failed (${r.status}): ${r.stderr.trim()}`);
  const at = r.stdout.indexOf('\nNOTES:\n');
  if (at < 0) throw new Error('helm printed no NOTES');
  return r.stdout.slice(at + '\nNOTES:\n'.length);
}
