// Linux refuses a path component longer than NAME_MAX (255 bytes) or a path
// of PATH_MAX (4096 bytes, with its closing NUL) or more with ENAMETOOLONG.
// The writer never opens the destination's name alone: it first creates a
// temp file beside it, ".erlmcp-secrets-<name>.<pid>.<seq>" (agent/writer/
// atomic-write.ts), so the limits here leave room for that wrapping. A
// destination within them can always be written; one past them fails only
// after every secret was fetched, which is why the config check refuses it.

export const NAME_MAX = 255;
export const PATH_MAX = 4096;

/** ".erlmcp-secrets-" + "." + pid (at most 7 digits: pid_max is 4194304) + "." + a base-36 sequence (up to 11 characters) */
export const TEMP_NAME_EXTRA = '.erlmcp-secrets-'.length + 1 + 7 + 1 + 11;

/** the longest file name (in UTF-8 bytes) a template destination may have */
export const MAX_DESTINATION_NAME_BYTES = NAME_MAX - TEMP_NAME_EXTRA;
/** the longest absolute destination path (in UTF-8 bytes) */
export const MAX_DESTINATION_PATH_BYTES = PATH_MAX - 1 - TEMP_NAME_EXTRA;

/** why an absolute path cannot be written as a template destination, if it cannot */
export function destinationLengthProblem(absolute: string): string | undefined {
  const total = Buffer.byteLength(absolute, 'utf8');
  if (total > MAX_DESTINATION_PATH_BYTES) {
    return `the path is ${total} bytes long; Linux allows ${PATH_MAX - 1} bytes in a path (PATH_MAX) and the agent's temp file beside it needs ${TEMP_NAME_EXTRA} more, so keep it at most ${MAX_DESTINATION_PATH_BYTES}`;
  }
  const parts = absolute.split('/').filter((p) => p !== '');
  const name = parts.pop() ?? '';
  const nameBytes = Buffer.byteLength(name, 'utf8');
  if (nameBytes > MAX_DESTINATION_NAME_BYTES) {
    return `the file name is ${nameBytes} bytes long; Linux allows ${NAME_MAX} bytes in a name (NAME_MAX) and the agent's temp file beside it needs ${TEMP_NAME_EXTRA} more, so keep it at most ${MAX_DESTINATION_NAME_BYTES}`;
  }
  const longDir = parts.find((p) => Buffer.byteLength(p, 'utf8') > NAME_MAX);
  if (longDir !== undefined) {
    return `the directory name "${longDir.slice(0, 20)}..." is ${Buffer.byteLength(longDir, 'utf8')} bytes long; Linux allows ${NAME_MAX} bytes in a name (NAME_MAX)`;
  }
  return undefined;
}
