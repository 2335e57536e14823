// The `require` block of a secret: which keys must be there and what their
// values must look like. Semantics live in agent/validate/.

import { z } from 'zod';

export const FORMATS = ['base64', 'hex', 'url', 'json', 'pem-certificate', 'pem-private-key'] as const;
export type Format = (typeof FORMATS)[number];

const ruleFields = z.strictObject({
  /** the key may be absent; when present the other rules apply */
  optional: z.boolean().optional(),
  minLength: z.int().positive().optional(),
  maxLength: z.int().positive().optional(),
  pattern: z
    .string()
    .refine((p) => {
      try {
        new RegExp(p, 'u');
        return true;
      } catch {
        return false;
      }
    }, 'not a valid regular expression')
    .optional(),
  format: z.enum(FORMATS).optional(),
  /** base64/hex: exact decoded length in bytes */
  bytes: z.int().positive().optional(),
  /** base64/hex: smallest decoded length in bytes */
  minBytes: z.int().positive().optional(),
  /** pem-certificate: must stay valid at least this many more days */
  expiresInMoreThanDays: z.number().nonnegative().optional(),
  /** pem-private-key: must be the key of the certificate at `secret.key` */
  matchesCertificate: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_-]*\.\S+$/, 'must name a certificate as "secret.key" (the key may contain dots: "tls.tls.crt")')
    .optional(),
});

// Options that only mean something with a given format are refused without it,
// rather than silently ignored.
export const ruleSchema = ruleFields.superRefine((r, ctx) => {
  const needs = (field: keyof typeof r, formats: string[]) => {
    if (r[field] !== undefined && !formats.includes(r.format ?? '')) {
      ctx.addIssue({ code: 'custom', path: [field], message: `only applies with format: ${formats.join(' or ')}` });
    }
  };
  needs('bytes', ['base64', 'hex']);
  needs('minBytes', ['base64', 'hex']);
  needs('expiresInMoreThanDays', ['pem-certificate']);
  needs('matchesCertificate', ['pem-private-key']);
});

export type Rule = z.output<typeof ruleFields>;

/** `require: [a, b]` or `require: { a: {}, b: { minLength: 16 } }`; `a:` with no value means `{}` */
export const requireSchema = z
  .union([z.array(z.string().min(1)), z.record(z.string().min(1), ruleSchema.nullable())])
  .transform((r): Record<string, Rule> => {
    if (Array.isArray(r)) return Object.fromEntries(r.map((k) => [k, {}]));
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v ?? {}]));
  });
