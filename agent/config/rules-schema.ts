// The `require` block of a secret: which keys must be there and what their
// values must look like. Semantics live in agent/validate/.

import * as z from 'zod/mini';
import './zod-setup.ts';
import { dict } from './dict.ts';

export const FORMATS = ['base64', 'hex', 'url', 'json', 'pem-certificate', 'pem-private-key'] as const;
export type Format = (typeof FORMATS)[number];

const positiveInt = () => z.optional(z.int().check(z.positive()));

const ruleFields = z.strictObject({
  /** the key may be absent; when present the other rules apply */
  optional: z.optional(z.boolean()),
  minLength: positiveInt(),
  maxLength: positiveInt(),
  pattern: z.optional(
    z.string().check(
      z.refine((p) => {
        try {
          new RegExp(p, 'u');
          return true;
        } catch {
          return false;
        }
      }, 'not a valid regular expression'),
    ),
  ),
  format: z.optional(z.enum(FORMATS)),
  /** base64/hex: exact decoded length in bytes */
  bytes: positiveInt(),
  /** base64/hex: smallest decoded length in bytes */
  minBytes: positiveInt(),
  /** pem-certificate: must stay valid at least this many more days */
  expiresInMoreThanDays: z.optional(z.number().check(z.nonnegative())),
  /** pem-private-key: must be the key of the certificate at `secret.key` */
  matchesCertificate: z.optional(
    z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9_-]*\.\S+$/, 'must name a certificate as "secret.key" (the key may contain dots: "tls.tls.crt")')),
  ),
});

export type Rule = z.output<typeof ruleFields>;

// Options that only mean something with a given format are refused without it,
// rather than silently ignored.
export const ruleSchema = ruleFields.check(
  z.superRefine((r: Rule, ctx) => {
    const needs = (field: keyof Rule, formats: string[]) => {
      if (r[field] !== undefined && !formats.includes(r.format ?? '')) {
        ctx.addIssue({ code: 'custom', path: [field], message: `only applies with format: ${formats.join(' or ')}` });
      }
    };
    needs('bytes', ['base64', 'hex']);
    needs('minBytes', ['base64', 'hex']);
    needs('expiresInMoreThanDays', ['pem-certificate']);
    needs('matchesCertificate', ['pem-private-key']);
  }),
);

/** A map key that a JavaScript object cannot hold as an entry: the record
 * parser would set the map's prototype instead and the key would vanish. */
export const mapKey = () => z.string().check(z.minLength(1), z.refine((k) => k !== '__proto__', '"__proto__" cannot be used as a name here'));

/** `require: [a, b]` or `require: { a: {}, b: { minLength: 16 } }`; `a:` with no value means `{}`.
 * The result has no prototype: a key named `constructor` or `toString` is only there when declared. */
export const requireSchema = z.pipe(
  z.union([z.array(mapKey()), z.record(mapKey(), z.nullable(ruleSchema))]),
  z.transform((r: string[] | Record<string, Rule | null>): Record<string, Rule> => {
    if (Array.isArray(r)) return dict(r.map((k): [string, Rule] => [k, {}]));
    return dict(Object.entries(r).map(([k, v]): [string, Rule] => [k, v ?? {}]));
  }),
);
