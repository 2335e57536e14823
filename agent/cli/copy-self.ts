// `erlmcp-secrets copy-self DEST`: how the single-binary image puts the agent
// into a pod's shared volume for exec mode. The image has no shell and no cp,
// and the application's image has no Node, so the binary copies itself.
//
// The copy is the kernel's (copyFile: copy_file_range/sendfile), never a
// buffer: the binary is ~120 MB, about the injected container's whole memory
// limit (128Mi by default), and reading it into memory was OOM-killed there.

import { constants } from 'node:fs';
import { chmod, copyFile, mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { AgentError } from '../errors.ts';

export async function copySelf(args: string[], runningAsBinary: () => boolean = isSingleExecutable, source: string = process.execPath): Promise<string> {
  if (args.length !== 1 || !args[0]!.startsWith('/')) throw new AgentError('usage', 'copy-self: give one absolute destination path, e.g. copy-self /erlmcp-secrets/bin/erlmcp-secrets');
  if (!runningAsBinary()) {
    throw new AgentError('usage', 'copy-self: this is the Node.js bundle, which needs node in the application image; exec mode uses the single-binary image (the -binary tag), whose copy-self copies the binary');
  }
  const dest = args[0]!;
  const temp = path.join(path.dirname(dest), `.${path.basename(dest)}.${process.pid}.tmp`);
  try {
    await mkdir(path.dirname(dest), { recursive: true, mode: 0o755 });
    // in a container this is pid 1 on every restart: a temp left by a killed
    // attempt would otherwise fail every later one (unlink removes a symlink,
    // never its target)
    await unlink(temp).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    // EXCL: a file or symlink put at the temp name since is never written through
    await copyFile(source, temp, constants.COPYFILE_EXCL);
    await chmod(temp, 0o755);
    const fh = await open(temp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, dest);
  } catch (e) {
    await unlink(temp).catch(() => {});
    const err = e as NodeJS.ErrnoException;
    throw new AgentError('internal', `copy-self: cannot copy the agent binary to ${dest}: ${err.code ?? err.message}; check that the volume is mounted there and writable by this user`, { where: dest, cause: e });
  }
  return dest;
}

function isSingleExecutable(): boolean {
  try {
    // node:sea exists on Node >= 20.12; isSea() is true only inside a single executable
    return (process.getBuiltinModule('node:sea') as { isSea(): boolean } | undefined)?.isSea() ?? false;
  } catch {
    return false;
  }
}
