// Reads one file as UTF-8 text. Values keep their bytes, so a file that is
// not valid UTF-8 is refused (naming the file, never showing its content)
// rather than silently mangled with replacement characters.

import { readFile } from 'node:fs/promises';
import { AgentError } from '../../errors.ts';
import { fsError } from './fs-errors.ts';
import type { FilePlace } from './file-place.ts';

/** Kubernetes caps a Secret at 1 MiB; anything far beyond is a wrong path, not a secret */
const MAX_BYTES = 8 * 1024 * 1024;

export async function readUtf8(place: FilePlace, provider: string, signal: AbortSignal): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(place.abs, { signal });
  } catch (e) {
    throw fsError(e, place, provider);
  }
  if (bytes.length > MAX_BYTES) {
    throw new AgentError('validation', `${place.display} is larger than ${MAX_BYTES / 1024 / 1024} MiB, which is no secret; check the provider path`, {
      where: place.abs,
      provider,
    });
  }
  try {
    // ignoreBOM keeps a leading U+FEFF as part of the value: bytes stay bytes
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new AgentError('validation', `${place.display} is not valid UTF-8 text; store binary values base64-encoded`, {
      where: place.abs,
      provider,
    });
  }
}
