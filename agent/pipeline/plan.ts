// `erlmcp-secrets plan`: init without the writes. Every secret is fetched and
// checked and every template rendered in memory, exactly as init would; then,
// per file, what would be written (size, mode, the secret keys it uses) and
// how it compares with the file on disk. The rendered bytes are compared,
// never shown: the plan names keys, not values.
//
// A secret issued on write (a certificate from Vault's PKI) is not fetched:
// fetching it would issue a certificate that nothing uses. Its files are
// listed as issued at init, not rendered.

import { lstat } from 'node:fs/promises';
import { isReadRefusal, readBounded } from '../files/bounded-read.ts';
import type { PreparedTemplate } from './prepare-templates.ts';
import { fetchAndCheck, type InitDeps } from './init.ts';
import { revokeLeases } from './revoke-leases.ts';
import { renderAll } from './render-all.ts';

export type DiskState =
  | { state: 'new' }
  | { state: 'unchanged' }
  | { state: 'content differs'; bytes: number }
  | { state: 'mode differs'; mode: number }
  | { state: 'not a regular file' }
  | { state: 'unreadable'; code: string }
  | { state: 'issued at init'; secrets: string[] };

export interface PlannedFile {
  destination: string;
  bytes: number;
  mode: number;
  escape: string;
  /** secret.key, sorted, each once */
  uses: string[];
  disk: DiskState;
}

/** the secrets whose fetch issues something (provider.issues) */
export function issuedOnWrite(deps: Pick<InitDeps, 'config' | 'providers'>): Set<string> {
  const out = new Set<string>();
  for (const s of Object.values(deps.config.secrets)) {
    if (deps.providers.get(s.provider)?.issues?.({ name: s.name, spec: s.spec })) out.add(s.name);
  }
  return out;
}

/** throws what init would throw (same codes, same problems), except for
 * secrets issued on write, which are neither issued nor checked */
export async function planInit(deps: InitDeps): Promise<PlannedFile[]> {
  const issued = issuedOnWrite(deps);
  const { store } = await fetchAndCheck(deps, Object.keys(deps.config.secrets).filter((n) => !issued.has(n)));
  // plan writes nothing: a lease it fetched (a database role...) is never used
  await revokeLeases(store.values(), deps, 'as unused: plan writes nothing');
  const usesIssued = (t: PreparedTemplate) => [...t.secrets].filter((n) => issued.has(n)).sort();
  const rendered = renderAll(deps.templates.filter((t) => usesIssued(t).length === 0), store.templateData());
  const unrendered: PlannedFile[] = deps.templates
    .filter((t) => usesIssued(t).length > 0)
    .map((t) => ({ destination: t.config.destination, bytes: 0, mode: t.config.mode, escape: t.escape, uses: keysUsed(t), disk: { state: 'issued at init', secrets: usesIssued(t) } }));
  return Promise.all([
    ...unrendered,
    ...rendered.map(async (r) => ({
      destination: r.template.config.destination,
      bytes: r.bytes.length,
      mode: r.template.config.mode,
      escape: r.template.escape,
      uses: keysUsed(r.template),
      disk: await compareWithDisk(r.template.config.destination, r.bytes, r.template.config.mode),
    })),
  ]);
}

function keysUsed(t: PreparedTemplate): string[] {
  // a reference without a key is the whole secret ({{#json}}{{db}}{{/json}})
  return [...new Set(t.parsed.references.map((r) => (r.key === undefined ? `${r.secret} (every key)` : `${r.secret}.${r.key}`)))].sort();
}

async function compareWithDisk(file: string, bytes: Buffer, mode: number): Promise<DiskState> {
  let st;
  try {
    st = await lstat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unknown';
    return code === 'ENOENT' ? { state: 'new' } : { state: 'unreadable', code };
  }
  // the writer replaces a symlink or anything else with a regular file
  if (!st.isFile()) return { state: 'not a regular file' };
  // a different size differs without reading; an equal size is at most what was just rendered
  if (st.size !== bytes.length) return { state: 'content differs', bytes: st.size };
  let onDisk: Buffer;
  try {
    onDisk = await readBounded(file, bytes.length);
  } catch (e) {
    if (!isReadRefusal(e)) throw e;
    if (e.kind === 'too-large') return { state: 'content differs', bytes: st.size };
    return { state: 'unreadable', code: e.errno ?? e.what ?? 'unknown' };
  }
  if (!onDisk.equals(bytes)) return { state: 'content differs', bytes: st.size };
  const diskMode = st.mode & 0o7777;
  return diskMode === mode ? { state: 'unchanged' } : { state: 'mode differs', mode: diskMode };
}

const octal = (mode: number) => `0${mode.toString(8)}`;

function describeDisk(d: DiskState): string {
  switch (d.state) {
    case 'new':
      return 'new file';
    case 'unchanged':
      return 'unchanged (same bytes and mode)';
    case 'content differs':
      return `would change: content differs (${d.bytes} bytes on disk)`;
    case 'mode differs':
      return `would change: same bytes, mode ${octal(d.mode)} on disk`;
    case 'not a regular file':
      return 'would replace: not a regular file on disk';
    case 'unreadable':
      return `cannot compare: ${d.code} reading the file on disk`;
    case 'issued at init':
      return `not rendered: ${d.secrets.join(', ')} ${d.secrets.length === 1 ? 'is' : 'are'} issued on write (a new certificate) by init and run, never by plan`;
  }
}

/** the text `plan` prints: one block per file, then a count */
export function formatPlan(files: PlannedFile[], origin: string): string {
  const lines = [`plan for ${origin}: ${files.length} file${files.length === 1 ? '' : 's'}, nothing written; values are never shown`];
  for (const f of files) {
    const size = f.disk.state === 'issued at init' ? 'size known once issued' : `${f.bytes} bytes`;
    lines.push('', f.destination, `  ${size}, mode ${octal(f.mode)}, escape ${f.escape}`, `  uses ${f.uses.length ? f.uses.join(', ') : 'no secret'}`, `  ${describeDisk(f.disk)}`);
  }
  const count = (pred: (d: DiskState) => boolean) => files.filter((f) => pred(f.disk)).length;
  const changed = count((d) => d.state === 'content differs' || d.state === 'mode differs' || d.state === 'not a regular file');
  const issued = count((d) => d.state === 'issued at init');
  lines.push('', `${count((d) => d.state === 'new')} new, ${changed} would change, ${count((d) => d.state === 'unchanged')} unchanged${count((d) => d.state === 'unreadable') ? `, ${count((d) => d.state === 'unreadable')} not compared` : ''}${issued ? `, ${issued} issued at init` : ''}`);
  return `${lines.join('\n')}\n`;
}
