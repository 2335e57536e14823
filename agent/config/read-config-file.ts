// Reads the agent config file with the checks that come before parsing:
// it exists, is a file, is readable, is not huge, and is text.

import { open } from 'node:fs/promises';
import { AgentError } from '../errors.ts';

/** A ConfigMap holds at most 1 MiB; no agent config comes near it. Without a
 * cap a wrong -c (a log, a disk image, /dev/zero) is read and parsed for
 * minutes before anything is said. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export async function readConfigText(file: string): Promise<string> {
  let bytes: Buffer;
  try {
    const handle = await open(file, 'r');
    try {
      if ((await handle.stat()).isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
      // read one byte past the cap, so that non-regular files (pipes, devices) are capped too
      const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
      let length = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buf, length, buf.length - length, null);
        if (bytesRead === 0) break;
        length += bytesRead;
        if (length === buf.length) break;
      }
      bytes = buf.subarray(0, length);
    } finally {
      await handle.close();
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : `cannot read (${code ?? 'error'})`;
    throw new AgentError('config', `${file}: ${why}; pass the agent config with -c FILE`, { where: file });
  }
  if (bytes.length > MAX_CONFIG_BYTES) {
    throw new AgentError('config', `${file}: larger than ${MAX_CONFIG_BYTES} bytes, far more than any agent config; is this the right file?`, { where: file });
  }
  const text = decodeUtf8(bytes);
  if (text === undefined || text.includes('\0')) {
    throw new AgentError('config', `${file}: not a text file (binary content); pass the agent config (YAML or JSON, UTF-8) with -c FILE`, { where: file });
  }
  return text;
}

/** undefined when the bytes are not UTF-8; a leading BOM is dropped */
function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
