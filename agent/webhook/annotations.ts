// Pod annotations -> typed settings, or every problem at once, each naming
// its annotation. Pure: no I/O, no defaults from the webhook config (those
// are applied when the plan is built).

import { parse as parseYaml } from 'yaml';
import { ESCAPES } from '../config/schema.ts';
import { classifyKey, key, PREFIX, type NamedFamily, type SingleKey } from './annotation-keys.ts';
import {
  parseAbsolutePath,
  parseBool,
  parseCommand,
  parseDurationValue,
  parseList,
  parsePort,
  parseQuantity,
  parseSecretObjectName,
  parseUid,
  parseFileMode,
  shown,
  type Parsed,
} from './annotation-values.ts';
import { isInjectionMode, INJECTION_MODES, type InjectionMode } from './modes.ts';
import { BOUNDS } from './quantity.ts';
import { dict } from '../config/dict.ts';

export interface AnnotationSettings {
  inject: boolean;
  status?: string;
  mode?: InjectionMode;
  prePopulateOnly?: boolean;
  /** secrets.erlmcp.io/config, parsed */
  config?: Record<string, unknown>;
  reload?: string;
  reloadErlangNode?: string;
  reloadErlangCookie?: string;
  /** the node's fixed distribution port (EPMD-less nodes, e.g. erlmcp's ERL_DIST_PORT) */
  reloadErlangPort?: number;
  /** TLS distribution: files in the agent container */
  reloadErlangTls?: { caFile?: string; certFile?: string; keyFile?: string };
  role?: string;
  vaultAddress?: string;
  vaultNamespace?: string;
  authPath?: string;
  /** Vault's jwt auth with a projected service account token of this audience */
  vaultJwtAudience?: string;
  vaultCaFile?: string;
  vaultTlsSecret?: string;
  awsRegion?: string;
  azureVaultUrl?: string;
  gcpProject?: string;
  image?: string;
  containers?: string[];
  execCommand?: string[];
  volumeMountPath?: string;
  volumeSize?: string;
  runAsUser?: number;
  runAsGroup?: number;
  cpuRequest?: string;
  cpuLimit?: string;
  memoryRequest?: string;
  memoryLimit?: string;
  initTimeout?: string;
  refreshInterval?: string;
  logLevel?: string;
  quit?: boolean;
  port?: number;
  /** secret-<name>: raw PROVIDER:REF, parsed when the config is built */
  secrets: Record<string, string>;
  require: Record<string, string>;
  templates: Record<string, string>;
  escapes: Record<string, string>;
  fileModes: Record<string, string>;
  env: Record<string, string>;
}

export interface SizeLimits {
  annotationValueBytes: number;
  annotationTotalBytes: number;
}

/** `settings` holds every annotation that parsed, even when others did not, so
 * that the cross-checks still run and one denial names every problem; it is
 * undefined only when the annotations are too large to look at. */
export interface AnnotationsResult {
  settings: AnnotationSettings | undefined;
  problems: string[];
  /** annotations (without the prefix) whose value was refused: what follows from them is not reported again */
  refused: Set<string>;
}

const SECRET_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** only our annotations, in key order (stable messages) */
export function ourAnnotations(all: Record<string, string> | undefined): [string, string][] {
  return Object.entries(all ?? {})
    .filter(([k]) => k.startsWith(PREFIX))
    .map(([k, v]): [string, string] => [k.slice(PREFIX.length), String(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** why a template name cannot be a file name directly under the volume, if it cannot */
export function templateNameProblem(name: string): string | undefined {
  if (name === '') return 'the template name (the file name) is empty';
  if (name.includes('/') || name.includes('\\')) return `template name ${shown(name)} contains a path separator; it must be a plain file name under the secrets volume`;
  if (name === '.' || name === '..' || name.includes('..')) return `template name ${shown(name)} contains ".."; it must be a plain file name under the secrets volume`;
  if (name.startsWith('.')) return `template name ${shown(name)} starts with "."; hidden names clash with the volume's own ..data entries`;
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(name)) return `template name ${shown(name)} may use only letters, digits, ".", "_" and "-"`;
  return undefined;
}

export function parseAnnotations(all: Record<string, string> | undefined, limits: SizeLimits): AnnotationsResult {
  const ours = ourAnnotations(all);
  const problems: string[] = [];
  const refused = new Set<string>();
  // names come from annotation keys: maps without a prototype, so "secret-toString" is just a name
  const s: AnnotationSettings = { inject: false, secrets: dict(), require: dict(), templates: dict(), escapes: dict(), fileModes: dict(), env: dict() };

  let total = 0;
  for (const [local, value] of ours) {
    const bytes = Buffer.byteLength(value, 'utf8');
    total += bytes + Buffer.byteLength(key(local), 'utf8');
    if (bytes > limits.annotationValueBytes) {
      problems.push(`${key(local)}: the value is ${bytes} bytes, more than the limit of ${limits.annotationValueBytes}; move large templates or config into a file in the agent image or a mounted ConfigMap`);
    }
  }
  if (total > limits.annotationTotalBytes) {
    problems.push(`${PREFIX}* annotations: together ${total} bytes, more than the limit of ${limits.annotationTotalBytes}`);
  }
  if (problems.length) return { settings: undefined, problems, refused: new Set() };

  for (const [local, value] of ours) {
    const k = key(local);
    const c = classifyKey(local);
    if (c.kind === 'unknown') {
      problems.push(`${k}: unknown annotation${c.suggestion ? `; did you mean ${key(c.suggestion)}?` : ''} (see the erlmcp-secrets README for the full list)`);
      continue;
    }
    const problem = c.kind === 'single' ? applySingle(s, c.key, value) : applyNamed(s, c.family, c.name, value);
    if (problem !== undefined) {
      problems.push(`${k}: ${problem}`);
      refused.add(local);
    }
  }
  return { settings: s, problems, refused };
}

function take<T>(r: Parsed<T>, set: (v: T) => void): string | undefined {
  if (!r.ok) return r.problem;
  set(r.value);
  return undefined;
}

function applySingle(s: AnnotationSettings, k: SingleKey, value: string): string | undefined {
  switch (k) {
    case 'inject':
      return take(parseBool(value), (v) => (s.inject = v));
    case 'status':
      s.status = value;
      return undefined;
    case 'mode':
      if (!isInjectionMode(value)) return `must be one of ${INJECTION_MODES.join(', ')}, got ${shown(value)}`;
      s.mode = value;
      return undefined;
    case 'pre-populate-only':
      return take(parseBool(value), (v) => (s.prePopulateOnly = v));
    case 'config':
      return take(parseInlineConfig(value), (v) => (s.config = v));
    case 'reload':
      s.reload = value;
      return undefined;
    case 'reload-erlang-node':
      if (!/^[^@\s]+@[^@\s]+$/.test(value)) return `must be name@host, e.g. "erlmcp@127.0.0.1", got ${shown(value)}`;
      s.reloadErlangNode = value;
      return undefined;
    case 'reload-erlang-cookie':
      s.reloadErlangCookie = value;
      return undefined;
    case 'reload-erlang-port':
      return take(parsePort(value), (v) => (s.reloadErlangPort = v));
    case 'reload-erlang-tls-ca-file':
      return take(parseAbsolutePath(value), (v) => (s.reloadErlangTls = { ...s.reloadErlangTls, caFile: v }));
    case 'reload-erlang-tls-cert-file':
      return take(parseAbsolutePath(value), (v) => (s.reloadErlangTls = { ...s.reloadErlangTls, certFile: v }));
    case 'reload-erlang-tls-key-file':
      return take(parseAbsolutePath(value), (v) => (s.reloadErlangTls = { ...s.reloadErlangTls, keyFile: v }));
    case 'role':
      if (!/^[A-Za-z0-9_.-]{1,128}$/.test(value)) return `must be a Vault role name (letters, digits, ".", "_", "-"), got ${shown(value)}`;
      s.role = value;
      return undefined;
    case 'vault-address':
      return take(parseUrl(value, /^https?:$/), (v) => (s.vaultAddress = v));
    case 'vault-namespace':
      if (!/^[A-Za-z0-9_./-]{0,256}$/.test(value)) return `must be a Vault namespace path like "admin/erlmcp", got ${shown(value)}`;
      s.vaultNamespace = value;
      return undefined;
    case 'auth-path': {
      const mount = value.replace(/^\/+/, '').replace(/^auth\//, '').replace(/\/+$/, '');
      if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(mount)) return `must be the Kubernetes auth mount, e.g. "kubernetes" or "auth/kubernetes", got ${shown(value)}`;
      s.authPath = mount;
      return undefined;
    }
    case 'vault-jwt-audience':
      // kubelet puts it in the token's aud claim; the Vault role's bound_audiences must hold it
      if (!/^[\x21-\x7e]{1,253}$/.test(value)) return `must be the audience of the projected token, the one the Vault role's bound_audiences holds (e.g. "vault"), got ${shown(value)}`;
      s.vaultJwtAudience = value;
      return undefined;
    case 'vault-ca-file':
      return take(parseAbsolutePath(value), (v) => (s.vaultCaFile = v));
    case 'vault-tls-secret':
      return take(parseSecretObjectName(value), (v) => (s.vaultTlsSecret = v));
    case 'aws-region':
      if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(value)) return `must be an AWS region like "us-east-1", got ${shown(value)}`;
      s.awsRegion = value;
      return undefined;
    case 'azure-vault-url':
      return take(parseUrl(value, /^https:$/), (v) => (s.azureVaultUrl = v));
    case 'gcp-project':
      if (!/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(value)) return `must be a GCP project id like "my-project-123", got ${shown(value)}`;
      s.gcpProject = value;
      return undefined;
    case 'image':
      if (!/^[^\s@]+(@sha256:[0-9a-f]{64})?$/.test(value)) return `must be a container image reference, got ${shown(value)}`;
      s.image = value;
      return undefined;
    case 'containers':
      return take(parseList(value), (v) => (s.containers = v));
    case 'exec-command':
      return take(parseCommand(value), (v) => (s.execCommand = v));
    case 'volume-mount-path':
      return take(parseAbsolutePath(value), (v) => (s.volumeMountPath = v));
    case 'volume-size':
      return take(parseQuantity(value, BOUNDS.volumeSize), (v) => (s.volumeSize = v));
    case 'run-as-user':
      return take(parseUid(value, 'user id'), (v) => (s.runAsUser = v)) ?? (s.runAsUser === 0 ? 'must not be 0: the agent runs as non-root' : undefined);
    case 'run-as-group':
      return take(parseUid(value, 'group id'), (v) => (s.runAsGroup = v));
    case 'cpu-request':
      return take(parseQuantity(value, BOUNDS.cpuRequest), (v) => (s.cpuRequest = v));
    case 'cpu-limit':
      return take(parseQuantity(value, BOUNDS.cpuLimit), (v) => (s.cpuLimit = v));
    case 'memory-request':
      return take(parseQuantity(value, BOUNDS.memoryRequest), (v) => (s.memoryRequest = v));
    case 'memory-limit':
      return take(parseQuantity(value, BOUNDS.memoryLimit), (v) => (s.memoryLimit = v));
    case 'init-timeout':
      return take(parseDurationValue(value), (v) => (s.initTimeout = v));
    case 'refresh-interval':
      return take(parseDurationValue(value), (v) => (s.refreshInterval = v));
    case 'log-level':
      if (!LOG_LEVELS.includes(value)) return `must be one of ${LOG_LEVELS.join(', ')}, got ${shown(value)}`;
      s.logLevel = value;
      return undefined;
    case 'quit':
      return take(parseBool(value), (v) => (s.quit = v));
    case 'port':
      return take(parsePort(value), (v) => (s.port = v));
  }
}

function applyNamed(s: AnnotationSettings, family: NamedFamily, name: string, value: string): string | undefined {
  switch (family) {
    case 'secret':
    case 'require':
      if (!SECRET_NAME.test(name)) return `secret name ${shown(name)} must start with a letter and use letters, digits, "_" and "-" (it is the template namespace, {{${name || 'name'}.key}})`;
      if (family === 'secret') s.secrets[name] = value;
      else s.require[name] = value;
      return undefined;
    case 'template':
    case 'escape':
    case 'mode': {
      const p = templateNameProblem(name);
      if (p !== undefined) return p;
      if (family === 'template') {
        s.templates[name] = value;
        return undefined;
      }
      if (family === 'escape') {
        if (!(ESCAPES as readonly string[]).includes(value)) return `must be one of ${ESCAPES.join(', ')}, got ${shown(value)}`;
        s.escapes[name] = value;
        return undefined;
      }
      return take(parseFileMode(value), (v) => (s.fileModes[name] = v));
    }
    case 'env':
      if (!ENV_NAME.test(name) || name === '__proto__') return `${shown(name)} is not a valid environment variable name`;
      s.env[name] = value;
      return undefined;
  }
}

function parseUrl(value: string, protocol: RegExp): Parsed<string> {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return { ok: false, problem: `must be a URL like "https://vault.vault.svc:8200", got ${shown(value)}` };
  }
  if (!protocol.test(u.protocol)) return { ok: false, problem: `must use ${protocol.source.includes('?') ? 'http or https' : 'https'}, got ${shown(value)}` };
  return { ok: true, value: value.replace(/\/+$/, '') };
}

function parseInlineConfig(text: string): Parsed<Record<string, unknown>> {
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true, prettyErrors: false });
  } catch (e) {
    // the first line only: later lines quote the annotation's text
    const first = (e as Error).message.split('\n')[0]!.replace(/:$/, '');
    return { ok: false, problem: `not valid YAML or JSON: ${first}` };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return { ok: false, problem: 'must be a YAML or JSON mapping with the agent config keys (providers, secrets, templates, reload, ...)' };
  }
  return { ok: true, value: doc as Record<string, unknown> };
}
