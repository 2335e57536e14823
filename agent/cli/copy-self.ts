// `erlmcp-secrets copy-self DEST`: how the single-binary image puts the agent
// into a pod's shared volume for exec mode. The image has no shell and no cp,
// and the application's image has no Node, so the binary copies itself.
//
// Through a 1 MiB buffer, never the whole file: the binary is ~120 MB, about
// the injected container's whole memory limit (128Mi by default), and reading
// it into memory was OOM-killed there. Not copyFile either: libuv's
// copy_file_range loop has no exit for a call that copies nothing, which
// overlayfs (the image's own filesystem) has answered on some kernels.

import { constants } from 'node:fs';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { AgentError } from '../errors.ts';

const CHUNK = 1024 * 1024;

export async function copySelf(args: string[], runningAsBinary: () => boolean = isSingleExecutable, source: string = process.execPath): Promise<string> {
  if (args.length !== 1 || !args[0]!.startsWith('/')) throw new AgentError('usage', 'copy-self: give one absolute destination path, e.g. copy-self /erlmcp-secrets/bin/erlmcp-secrets');
  if (!runningAsBinary()) {
    throw new AgentError('usage', 'copy-self: this is the Node.js bundle, which needs node in the application image; exec mode uses the single-binary image (the -binary tag), whose copy-self copies the binary');
  }
  const dest = args[0]!;
  const dir = path.dirname(dest);
  const temp = path.join(dir, `.${path.basename(dest)}.${process.pid}.tmp`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    // in a container this is pid 1 on every restart: a temp left by a killed
    // attempt would otherwise fail every later one (unlink removes a symlink,
    // never its target)
    await unlink(temp).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await copyInto(source, temp);
    await rename(temp, dest);
    const dirFh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    await dirFh.sync().catch(() => {}).finally(() => dirFh.close()); // the rename, durable
  } catch (e) {
    await unlink(temp).catch(() => {});
    if (e instanceof AgentError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new AgentError('internal', `copy-self: cannot copy the agent binary to ${dest}: ${err.code ?? err.message}; check that the volume is mounted there and writable by this user`, { where: dest, cause: e });
  }
  return dest;
}

/** source -> a new file at temp (EXCL and NOFOLLOW: nothing put there since
 * is written through), mode 0755, synced, and as long as the source */
async function copyInto(source: string, temp: string): Promise<void> {
  const src = await open(source, constants.O_RDONLY);
  let out: FileHandle | undefined;
  try {
    const size = (await src.stat()).size;
    out = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o700);
    const buf = Buffer.allocUnsafe(CHUNK);
    let copied = 0;
    for (;;) {
      const { bytesRead } = await src.read(buf, 0, CHUNK, copied);
      if (bytesRead === 0) break;
      let written = 0;
      while (written < bytesRead) written += (await out.write(buf, written, bytesRead - written, copied + written)).bytesWritten;
      copied += bytesRead;
    }
    if (copied !== size || (await out.stat()).size !== size) {
      throw new AgentError('internal', `copy-self: copied ${copied} of ${size} bytes of the agent binary; the copy is not used`);
    }
    await out.chmod(0o755);
    await out.sync();
  } finally {
    await out?.close();
    await src.close();
  }
}

function isSingleExecutable(): boolean {
  try {
    // node:sea exists on Node >= 20.12; isSea() is true only inside a single executable
    return (process.getBuiltinModule('node:sea') as { isSea(): boolean } | undefined)?.isSea() ?? false;
  } catch {
    return false;
  }
}
