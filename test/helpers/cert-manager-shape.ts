// cert-manager's CRDs have no schema in the Kubernetes JSON schema source
// (k8s-schema.ts): their objects get a structural check here instead (the
// fields cert-manager requires, and no unknown spec field), which is weaker
// than a schema.

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ISSUER_TYPES = ['selfSigned', 'ca', 'acme', 'vault', 'venafi'];
const CERTIFICATE_FIELDS = ['secretName', 'issuerRef', 'dnsNames', 'commonName', 'isCA', 'duration', 'renewBefore', 'usages', 'privateKey', 'ipAddresses', 'secretTemplate', 'subject'];

/** [] when the object has the shape cert-manager.io/v1 requires */
export function certManagerProblems(obj: { kind: string; metadata: { namespace?: string } }): string[] {
  const spec = (obj as Any).spec as Any | undefined;
  const out: string[] = [];
  if (!obj.metadata.namespace) out.push('namespaced: metadata.namespace missing');
  if (!spec || typeof spec !== 'object') return [...out, 'spec missing'];
  if (obj.kind === 'Issuer' || obj.kind === 'ClusterIssuer') {
    const kinds = ISSUER_TYPES.filter((k) => k in spec);
    if (kinds.length !== 1) out.push(`exactly one issuer type expected, found ${kinds.join(',') || 'none'}`);
    if (spec.ca && typeof spec.ca.secretName !== 'string') out.push('ca.secretName missing');
    for (const k of Object.keys(spec)) if (!ISSUER_TYPES.includes(k)) out.push(`unknown spec field ${k}`);
  } else if (obj.kind === 'Certificate') {
    for (const k of Object.keys(spec)) if (!CERTIFICATE_FIELDS.includes(k)) out.push(`unknown spec field ${k}`);
    if (typeof spec.secretName !== 'string') out.push('spec.secretName missing');
    if (!spec.issuerRef || typeof spec.issuerRef.name !== 'string') out.push('spec.issuerRef.name missing');
    if (spec.issuerRef && spec.issuerRef.kind !== undefined && !['Issuer', 'ClusterIssuer'].includes(spec.issuerRef.kind)) out.push('spec.issuerRef.kind');
    if (!spec.isCA && !(Array.isArray(spec.dnsNames) && spec.dnsNames.length)) out.push('a serving certificate needs dnsNames');
    for (const d of ['duration', 'renewBefore']) if (spec[d] !== undefined && !/^(\d+h)?(\d+m)?(\d+s)?$/.test(spec[d])) out.push(`${d} is not a Go duration`);
    if (spec.privateKey && !['RSA', 'ECDSA', 'Ed25519'].includes(spec.privateKey.algorithm)) out.push('privateKey.algorithm');
  } else out.push(`unexpected cert-manager kind ${obj.kind}`);
  return out;
}
