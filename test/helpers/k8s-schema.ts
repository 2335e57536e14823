// Validates Kubernetes objects against the official OpenAPI-derived JSON
// schemas (strict variant: additionalProperties false), as shipped by the
// PyPI package kubernetes-validate (yannh/kubernetes-json-schema layout).
// CI installs it with `pip install kubernetes-validate==1.37.0`; a different
// copy can be pointed at with K8S_JSON_SCHEMA_DIR.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';

export const SCHEMA_VERSIONS = ['v1.29.0', 'v1.37.0'] as const;
export type SchemaVersion = (typeof SCHEMA_VERSIONS)[number];

let root: string | undefined;

export function schemaRoot(): string {
  if (root) return root;
  const fromEnv = process.env.K8S_JSON_SCHEMA_DIR;
  if (fromEnv && existsSync(fromEnv)) return (root = fromEnv);
  let pkg = '';
  try {
    pkg = execFileSync('python3', ['-c', 'import kubernetes_validate, os; print(os.path.dirname(kubernetes_validate.__file__))'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    // reported below
  }
  const dir = path.join(pkg, 'kubernetes-json-schema');
  if (!pkg || !existsSync(dir)) {
    throw new Error('Kubernetes JSON schemas not found: run `pip install kubernetes-validate==1.37.0` or set K8S_JSON_SCHEMA_DIR to a kubernetes-json-schema directory');
  }
  return (root = dir);
}

const validators = new Map<string, ValidateFunction>();
const ajvs = new Map<string, Ajv2020>();

function ajvFor(version: SchemaVersion): Ajv2020 {
  let ajv = ajvs.get(version);
  if (ajv) return ajv;
  ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  const int = (bits: 32 | 64) => ({ type: 'number' as const, validate: (n: number) => Number.isInteger(n) && (bits === 64 || (n >= -(2 ** 31) && n < 2 ** 31)) });
  ajv.addFormat('int32', int(32));
  ajv.addFormat('int64', int(64));
  ajv.addFormat('double', { type: 'number', validate: (n: number) => Number.isFinite(n) });
  ajv.addFormat('byte', /^[A-Za-z0-9+/]*={0,2}$/);
  ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
  const dir = path.join(schemaRoot(), `${version}-local-strict`);
  ajv.addSchema(JSON.parse(readFileSync(path.join(dir, '_definitions.json'), 'utf8')));
  ajvs.set(version, ajv);
  return ajv;
}

/** "apps/v1" + "Deployment" -> "deployment-apps-v1.json" (the schema package's naming) */
export function schemaFile(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const groupPart = group ? `-${group!.split('.')[0]}` : '';
  return `${kind.toLowerCase()}${groupPart}-${version}.json`;
}

export function hasSchema(apiVersion: string, kind: string, version: SchemaVersion = 'v1.37.0'): boolean {
  return existsSync(path.join(schemaRoot(), `${version}-local-strict`, schemaFile(apiVersion, kind)));
}

/** [] when valid, else "instancePath: message" lines */
export function validateK8s(obj: { apiVersion?: unknown; kind?: unknown }, version: SchemaVersion = 'v1.37.0'): string[] {
  const file = schemaFile(String(obj.apiVersion), String(obj.kind));
  const id = `${version}/${file}`;
  let validate = validators.get(id);
  if (!validate) {
    const schema = JSON.parse(readFileSync(path.join(schemaRoot(), `${version}-local-strict`, file), 'utf8')) as Record<string, unknown>;
    validate = ajvFor(version).compile(schema);
    validators.set(id, validate);
  }
  if (validate(obj)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
}
