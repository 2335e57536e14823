// Config shapes of the `file` provider. Light on purpose: the config loader
// imports this for every run, the provider module only when it is used.

import * as z from 'zod/mini';
import '../../config/zod-setup.ts';

export const providerConfigSchema = z.strictObject({
  type: z.literal('file'),
  /** a directory (of files, or a mounted Kubernetes Secret) or one .json/.yaml/.yml/.env file;
   * relative to the config file's directory */
  path: z.string().check(z.minLength(1, 'give the directory or file that holds the secrets')),
});

/** a path below the provider directory: relative, without ".." segments */
const relativePath = z.string().check(
  z.minLength(1),
  z.refine((p) => !p.startsWith('/') && !p.split('/').some((s) => s === '..' || s === ''), {
    message: 'must be a relative path below the provider directory, without ".." or empty segments',
  }),
);

export const secretSpecSchema = z.strictObject({
  /** directory provider: the entry under the directory (default: the secret's name) */
  path: z.optional(relativePath),
  /** single-file provider: the dotted key of the secret's map in the file (default: the secret's name) */
  /** a value read from a file of its own (a key file in a mounted-Secret
   * directory, a plain file) loses one trailing line break (default true);
   * false keeps the file's bytes exactly */
  trim: z.optional(z.boolean()),
  select: z.optional(
    z.string().check(
      z.minLength(1),
      z.refine((s) => !s.split('.').some((part) => part === ''), { message: 'use dotted keys like "erlmcp.db", without empty parts' }),
    ),
  ),
});

export type FileProviderConfig = z.output<typeof providerConfigSchema>;
export type FileSecretSpec = z.output<typeof secretSpecSchema>;
