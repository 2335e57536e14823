// Where a secret lives under a directory provider: the first of
//   <entry>/  <entry>.json  <entry>.yaml  <entry>.yml  <entry>.env  <entry>
// that exists (<entry> is the secret's `path`, default its name). An entry
// that already ends in .json/.yaml/.yml/.env is that file.

import { stat } from 'node:fs/promises';
import { AgentError } from '../../errors.ts';
import { kindOf } from '../../files/bounded-read.ts';
import { fsError, isNotFound } from './fs-errors.ts';
import { childPlace, type FilePlace } from './file-place.ts';

export type StructuredFormat = 'json' | 'yaml' | 'env';

export type SecretSource =
  | { kind: 'keys-dir'; place: FilePlace }
  | { kind: 'structured'; format: StructuredFormat; place: FilePlace }
  | { kind: 'plain'; place: FilePlace };

const EXTENSIONS: ReadonlyArray<[string, StructuredFormat]> = [['.json', 'json'], ['.yaml', 'yaml'], ['.yml', 'yaml'], ['.env', 'env']];

export function formatOfName(name: string): StructuredFormat | undefined {
  const lower = name.toLowerCase();
  return EXTENSIONS.find(([ext]) => lower.endsWith(ext))?.[1];
}

/** every path locate() may look at, relative to the root, in order (for the watcher) */
export function candidateEntries(entry: string): string[] {
  if (formatOfName(entry)) return [entry];
  return [entry, ...EXTENSIONS.map(([ext]) => entry + ext)];
}

export async function locate(root: FilePlace, entry: string, secretName: string, provider: string): Promise<SecretSource> {
  const own = formatOfName(entry);
  if (own) {
    const place = childPlace(root, entry);
    const kind = await kindAt(place, provider);
    if (kind === 'file') return { kind: 'structured', format: own, place };
    throw notFound(root, secretName, [kind === 'dir' ? `${entry} (a directory, not a file)` : entry], provider);
  }
  const base = childPlace(root, entry);
  const baseKind = await kindAt(base, provider);
  if (baseKind === 'dir') return { kind: 'keys-dir', place: base };
  for (const [ext, format] of EXTENSIONS) {
    const place = childPlace(root, entry + ext);
    if ((await kindAt(place, provider)) === 'file') return { kind: 'structured', format, place };
  }
  if (baseKind === 'file') return { kind: 'plain', place: base };
  throw notFound(root, secretName, [`${entry}/`, ...EXTENSIONS.map(([ext]) => entry + ext), entry], provider);
}

/** a FIFO, device or socket is refused (validation) */
async function kindAt(place: FilePlace, provider: string): Promise<'dir' | 'file' | 'none'> {
  try {
    const s = await stat(place.abs);
    if (s.isDirectory()) return 'dir';
    if (s.isFile()) return 'file';
    // a FIFO or a device where a secret should be: said as such, not "not found"
    // (and should it be swapped in after this look, the bounded read refuses it)
    throw new AgentError('validation', `${place.display} is ${kindOf(s)}, not a regular file; check the provider path`, { where: place.abs, provider });
  } catch (e) {
    if (e instanceof AgentError) throw e;
    if (isNotFound(e)) return 'none';
    throw fsError(e, place, provider);
  }
}

function notFound(root: FilePlace, secretName: string, tried: string[], provider: string): AgentError {
  return new AgentError('missing', `no secret "${secretName}" under ${root.display}: tried ${tried.join(', ')}`, {
    where: root.abs,
    provider,
  });
}
