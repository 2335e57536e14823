// The parts of core/v1 Pod the webhook reads or writes. Unknown fields are
// kept as they are: the webhook only ever adds JSON Patch operations.

export interface EnvVar {
  name: string;
  value?: string;
  [k: string]: unknown;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  [k: string]: unknown;
}

export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  [k: string]: unknown;
}

export interface ContainerPort {
  containerPort: number;
  [k: string]: unknown;
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: ContainerPort[];
  volumeMounts?: VolumeMount[];
  securityContext?: SecurityContext;
  restartPolicy?: string;
  [k: string]: unknown;
}

export interface Volume {
  name: string;
  [k: string]: unknown;
}

export interface PodSecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  fsGroup?: number;
  [k: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  restartPolicy?: string;
  shareProcessNamespace?: boolean;
  automountServiceAccountToken?: boolean;
  securityContext?: PodSecurityContext;
  [k: string]: unknown;
}

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; generateName?: string; namespace?: string; annotations?: Record<string, string>; [k: string]: unknown };
  spec: PodSpec;
  [k: string]: unknown;
}

/** names the webhook gives to what it adds; seeing any of them means "already injected" */
export const NAMES = {
  agent: 'erlmcp-secrets',
  initAgent: 'erlmcp-secrets-init',
  copyBinary: 'erlmcp-secrets-copy',
  volume: 'erlmcp-secrets',
  binVolume: 'erlmcp-secrets-bin',
  tlsVolume: 'erlmcp-secrets-tls',
  tokenVolume: 'erlmcp-secrets-token',
} as const;

export const BIN_DIR = '/erlmcp-secrets/bin';
export const TLS_DIR = '/erlmcp-secrets/tls';
export const TOKEN_DIR = '/var/run/secrets/erlmcp-secrets/serviceaccount';
export const CONFIG_ENV = 'ERLMCP_SECRETS_CONFIG';
