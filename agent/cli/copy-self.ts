// `erlmcp-secrets copy-self DEST`: how the single-binary image puts the agent
// into a pod's shared volume for exec mode. The image has no shell and no cp,
// and the application's image has no Node, so the binary copies itself.

import { readFile } from 'node:fs/promises';
import { AgentError } from '../errors.ts';
import { writeAtomic } from '../writer/atomic-write.ts';

export async function copySelf(args: string[], runningAsBinary: () => boolean = isSingleExecutable): Promise<string> {
  if (args.length !== 1 || !args[0]!.startsWith('/')) throw new AgentError('usage', 'copy-self: give one absolute destination path, e.g. copy-self /erlmcp-secrets/bin/erlmcp-secrets');
  if (!runningAsBinary()) {
    throw new AgentError('usage', 'copy-self: this is the Node.js bundle, which needs node in the application image; exec mode uses the single-binary image (the -binary tag), whose copy-self copies the binary');
  }
  await writeAtomic(args[0]!, await readFile(process.execPath), { mode: 0o755 });
  return args[0]!;
}

function isSingleExecutable(): boolean {
  try {
    // node:sea exists on Node >= 20.12; isSea() is true only inside a single executable
    return (process.getBuiltinModule('node:sea') as { isSea(): boolean } | undefined)?.isSea() ?? false;
  } catch {
    return false;
  }
}
