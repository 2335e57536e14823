// A file or directory as the operator knows it (the path as written in the
// config, joined with what the provider looked for) and as the OS knows it.

import path from 'node:path';

export interface FilePlace {
  /** for messages: the configured path plus the entry, e.g. ./dev-secrets/db.json */
  display: string;
  /** absolute, for reading and for AgentError.where */
  abs: string;
}

export function childPlace(parent: FilePlace, name: string): FilePlace {
  const display = parent.display === '.' ? name : `${parent.display.replace(/\/+$/, '')}/${name}`;
  return { display, abs: path.join(parent.abs, name) };
}
