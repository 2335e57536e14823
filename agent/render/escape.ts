// One value -> its text in a file format. `{{x}}` goes through here with the
// template's escape mode; `{{{x}}}` does not.

import type { Escape } from '../config/schema.ts';
import { refused, written, type Escaped } from './escapers/escaped.ts';
import { escapeDotenv } from './escapers/dotenv.ts';
import { escapeShell } from './escapers/shell.ts';
import { escapeJson } from './escapers/json.ts';
import { escapeYaml } from './escapers/yaml.ts';
import { escapeErlang } from './escapers/erlang.ts';

export type { Escaped } from './escapers/escaped.ts';

const ESCAPERS: Record<Escape, (value: string) => Escaped> = {
  none: written,
  dotenv: escapeDotenv,
  shell: escapeShell,
  json: escapeJson,
  yaml: escapeYaml,
  erlang: escapeErlang,
};

export function escapeValue(value: string, escape: Escape): Escaped {
  // Output files are UTF-8; a lone UTF-16 surrogate would silently become U+FFFD.
  if (!value.isWellFormed()) return refused('it is not well-formed Unicode (it has a lone UTF-16 surrogate), so it cannot be written as UTF-8');
  return ESCAPERS[escape](value);
}
