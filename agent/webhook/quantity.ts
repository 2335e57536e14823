// Kubernetes resource quantities ("10m", "48Mi", "1.5", "1e3"), the
// apimachinery grammar: a signed decimal number with an optional suffix.

export const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[munkMGTPE]|[eE][+-]?\d+)?$/;

export function isQuantity(s: string): boolean {
  return QUANTITY.test(s);
}
