// Reads the agent config file with the checks that come before parsing:
// it exists, is a regular file (a FIFO or a device is refused at once, not
// waited on or read forever), is readable, is not huge, and is text.

import { AgentError } from '../errors.ts';
import { readBounded, isReadRefusal, type ReadRefusal } from '../files/bounded-read.ts';
import { READ_LIMITS } from '../files/read-limits.ts';

/** A ConfigMap holds at most 1 MiB; no agent config comes near it. Without a
 * cap a wrong -c (a log, a disk image) is read and parsed for minutes before
 * anything is said. */
export const MAX_CONFIG_BYTES = READ_LIMITS.config;

export async function readConfigText(file: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readBounded(file, MAX_CONFIG_BYTES);
  } catch (e) {
    if (!isReadRefusal(e)) throw e;
    throw new AgentError('config', `${file}: ${whyUnread(e)}`, { where: file });
  }
  const text = decodeUtf8(bytes);
  if (text === undefined || text.includes('\0')) {
    throw new AgentError('config', `${file}: not a text file (binary content); pass the agent config (YAML or JSON, UTF-8) with -c FILE`, { where: file });
  }
  return text;
}

function whyUnread(r: ReadRefusal): string {
  if (r.kind === 'too-large') return `larger than ${MAX_CONFIG_BYTES} bytes, far more than any agent config; is this the right file?`;
  if (r.kind === 'not-regular') return `is ${r.what}, not a regular file; pass the agent config (a regular file) with -c FILE`;
  const why = r.errno === 'ENOENT' ? 'no such file' : r.errno === 'EACCES' ? 'permission denied' : `cannot read (${r.errno ?? 'error'})`;
  return `${why}; pass the agent config with -c FILE`;
}

/** undefined when the bytes are not UTF-8; a leading BOM is dropped */
function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
