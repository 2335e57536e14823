// Kubernetes resource quantities ("10m", "48Mi", "1.5", "1e3"), the
// apimachinery grammar: a signed decimal number with an optional suffix
// (binary Ki..Ei, decimal n u m "" k M G T P E, or an exponent e/E<int>).
// The grammar alone admits "-1Mi" and "0"; the webhook also wants a value
// that makes sense for what it sizes, so each use has its bounds.

export const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[munkMGTPE]|[eE][+-]?\d+)?$/;

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

export function isQuantity(s: string): boolean {
  return s.length <= 64 && QUANTITY.test(s);
}

/** the quantity's value in base units (cores, bytes), or undefined when it is not a quantity */
export function quantityValue(s: string): number | undefined {
  if (!isQuantity(s)) return undefined;
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(.*)$/.exec(s)!;
  const n = Number(m[1]);
  const suffix = m[2]!;
  const scale = Object.hasOwn(BINARY, suffix) ? BINARY[suffix]! : Object.hasOwn(DECIMAL, suffix) ? DECIMAL[suffix]! : 10 ** Number(suffix.slice(1));
  const v = n * scale;
  return Number.isFinite(v) ? v : undefined;
}

export interface QuantityBounds {
  /** what is sized, for messages: "CPU", "memory", "the secrets volume" */
  what: string;
  min: number;
  max: number;
  /** how the bounds are written in messages */
  minText: string;
  maxText: string;
  /** why the minimum, when it is more than "positive" */
  why?: string;
  /** the finest step Kubernetes accepts (CPU: 1m) */
  step?: number;
}

const MI = 2 ** 20;
/** measured: `init` from the bundle peaks at 58-63 MB RSS; below 64Mi the kernel kills it before its first render */
export const AGENT_MEMORY_FLOOR = 64 * MI;

export const BOUNDS = {
  cpuRequest: { what: 'CPU', min: 0.001, max: 8, minText: '1m', maxText: '8', step: 0.001 },
  // init spends 0.1-0.2 s of CPU; at 10m that is up to 20 s, still far inside the startup probe's window
  cpuLimit: { what: 'CPU', min: 0.01, max: 8, minText: '10m', maxText: '8', why: 'below 10m the agent needs minutes of wall time to start', step: 0.001 },
  memoryRequest: { what: 'memory', min: MI, max: 8 * 2 ** 30, minText: '1Mi', maxText: '8Gi' },
  memoryLimit: { what: 'memory', min: AGENT_MEMORY_FLOOR, max: 8 * 2 ** 30, minText: '64Mi', maxText: '8Gi', why: 'the agent uses about 60 MB; a lower limit kills it before its first render' },
  // the tmpfs counts against the pod's memory; 64Ki holds any sane set of config files
  volumeSize: { what: 'the secrets volume', min: 64 * 1024, max: 2 ** 30, minText: '64Ki', maxText: '1Gi' },
} satisfies Record<string, QuantityBounds>;

/** why `s` is not a quantity within `b`, if it is not */
export function quantityProblem(s: string, b: QuantityBounds): string | undefined {
  const v = quantityValue(s);
  if (v === undefined) return `must be a Kubernetes quantity like "10m", "48Mi" or "1", got ${JSON.stringify(s.length > 40 ? `${s.slice(0, 37)}...` : s)}`;
  if (v <= 0) return `must be more than 0, got "${s}"`;
  if (v < b.min) return `"${s}" is less than ${b.minText}, the smallest ${b.what} the webhook accepts${b.why ? ` (${b.why})` : ''}`;
  if (v > b.max) return `"${s}" is more than ${b.maxText}, the largest ${b.what} the webhook accepts`;
  if (b.step !== undefined && Math.abs(v / b.step - Math.round(v / b.step)) > 1e-6) return `"${s}" is finer than ${b.what === 'CPU' ? '1m' : String(b.step)}, which Kubernetes refuses`;
  return undefined;
}
