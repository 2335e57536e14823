// How the agent is put into a pod (secrets.erlmcp.io/mode).

export const INJECTION_MODES = ['native-sidecar', 'sidecar', 'init-only', 'exec'] as const;
export type InjectionMode = (typeof INJECTION_MODES)[number];

export function isInjectionMode(s: string): s is InjectionMode {
  return (INJECTION_MODES as readonly string[]).includes(s);
}
