// A vault secret's `write:` map: the JSON body of a POST to an endpoint that
// issues on write (pki/issue/ROLE with common_name, alt_names, ip_sans, ttl).
// Checked at config time, so a request Vault would refuse, or one far larger
// than any issue request, stops the agent before any call (exit 2). Bounds:
// PKI's own parameters are short names, comma lists and durations; a
// few dozen keys of a few KB each is far beyond any role's options.
// Kept light (zod only): config loading imports it.

import * as z from 'zod/mini';
import '../../config/zod-setup.ts';

/** keys in one write map (Vault's pki/issue takes about twenty parameters) */
export const MAX_WRITE_KEYS = 32;
/** a key's length: Vault's parameter names are snake_case words */
export const MAX_WRITE_KEY_LENGTH = 64;
/** one string value (a comma list of SANs, a CSR would be the largest) */
export const MAX_WRITE_STRING = 16 * 1024;
/** items in one list value (alt_names, ip_sans, uri_sans as lists) */
export const MAX_WRITE_LIST = 100;
/** one item of a list */
export const MAX_WRITE_LIST_ITEM = 1024;
/** the whole body as JSON */
export const MAX_WRITE_BODY_BYTES = 32 * 1024;

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

const writeValue = z.union([
  z.string().check(z.maxLength(MAX_WRITE_STRING, `a string of at most ${MAX_WRITE_STRING} characters`)),
  // z.number() refuses NaN and Infinity (YAML's .nan, .inf)
  z.number(),
  z.boolean(),
  z.array(z.string().check(z.maxLength(MAX_WRITE_LIST_ITEM, `each item at most ${MAX_WRITE_LIST_ITEM} characters`))).check(z.maxLength(MAX_WRITE_LIST, `at most ${MAX_WRITE_LIST} items`)),
]);

/** zod reports a bad record key only as "Invalid key in record": checked here to say why */
function keyProblem(key: string): string | undefined {
  if (key.length > MAX_WRITE_KEY_LENGTH) return `a parameter name of at most ${MAX_WRITE_KEY_LENGTH} characters`;
  if (!KEY.test(key)) return 'parameter names are letters, digits and "_" (as Vault names them, e.g. common_name)';
  return undefined;
}

export const writeMapSchema = z.record(z.string(), writeValue).check(
  z.superRefine((m, ctx) => {
    const keys = Object.keys(m);
    if (keys.length > MAX_WRITE_KEYS) {
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_WRITE_KEYS} parameters`, input: m });
      return;
    }
    for (const k of keys) {
      const problem = keyProblem(k);
      if (problem) ctx.addIssue({ code: 'custom', path: [k], message: problem, input: m });
    }
    if (Buffer.byteLength(JSON.stringify(m)) > MAX_WRITE_BODY_BYTES) ctx.addIssue({ code: 'custom', message: `at most ${MAX_WRITE_BODY_BYTES} bytes as JSON`, input: m });
  }),
);

/** the fraction of an issued certificate's lifetime after which it is issued
 * again: at least 0.1, since each issue is a new certificate in the PKI's
 * store (0.001 of a day's certificate would issue about every minute) */
export const reissueFractionSchema = z.number().check(z.gte(0.1, 'at least 0.1 (each re-issue is a new certificate in the PKI)'), z.lt(1, 'less than 1'));

export type WriteMap = z.infer<typeof writeMapSchema>;
