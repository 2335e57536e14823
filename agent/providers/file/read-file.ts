// Reads one file as UTF-8 text. Values keep their bytes, so a file that is
// not valid UTF-8 is refused (naming the file, never showing its content)
// rather than silently mangled with replacement characters.

import { AgentError } from '../../errors.ts';
import { formatBytes, isReadRefusal, readBounded } from '../../files/bounded-read.ts';
import { READ_LIMITS } from '../../files/read-limits.ts';
import { fsError } from './fs-errors.ts';
import type { FilePlace } from './file-place.ts';

/** Kubernetes caps a Secret at 1 MiB; anything far beyond is a wrong path, not a secret */
const MAX_BYTES = READ_LIMITS.secretFile;

export async function readUtf8(place: FilePlace, provider: string, signal: AbortSignal): Promise<string> {
  let bytes: Buffer;
  try {
    // bounded, and never a FIFO or a device (which would hang or never end)
    bytes = await readBounded(place.abs, MAX_BYTES, signal);
  } catch (e) {
    if (!isReadRefusal(e)) throw fsError(e, place, provider); // aborted
    if (e.kind === 'errno') throw fsError({ code: e.errno }, place, provider);
    const why = e.kind === 'too-large' ? `is larger than ${formatBytes(MAX_BYTES)}, which is no secret` : `is ${e.what}, not a regular file`;
    throw new AgentError('validation', `${place.display} ${why}; check the provider path`, { where: place.abs, provider });
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
