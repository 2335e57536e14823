// The escape mode a destination gets when its template does not say.
//
// vm.args is `none` on purpose: it is split on whitespace by erlexec and has
// no quoting that all OTP versions honour, so no escape could make an
// arbitrary cookie safe there. Give the cookie a pattern rule instead
// (e.g. '^[A-Za-z0-9+/=_-]+$'), as templates/README.md says.

import type { Escape } from '../config/schema.ts';

const BY_EXTENSION: Record<string, Escape> = {
  env: 'dotenv',
  sh: 'shell',
  bash: 'shell',
  json: 'json',
  yaml: 'yaml',
  yml: 'yaml',
  config: 'erlang', // sys.config, app.config
  erl: 'erlang',
  term: 'erlang',
  terms: 'erlang',
};

export function inferEscape(destination: string): Escape {
  const base = (destination.split(/[\\/]/).pop() ?? '').toLowerCase();
  if (base === 'vm.args') return 'none';
  // .env, .env.local, .env.production
  if (base === '.env' || base.startsWith('.env.')) return 'dotenv';
  const dot = base.lastIndexOf('.');
  if (dot === -1) return 'none';
  return BY_EXTENSION[base.slice(dot + 1)] ?? 'none';
}
