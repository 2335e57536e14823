// The bundle's `node:fs/promises` for the agent's own modules: the same
// functions on node:fs's callback API.
//
// Why: node:fs/promises loads eight more builtins at start-up
// (internal/fs/promises, readline's Interface, the REPL history, fs watchers,
// ...), and under the image's --lite-mode V8 rejects Node's built-in code
// cache, so each is compiled from source: ~10 ms of CPU on every `init`,
// for nothing the agent uses. node:fs is loaded anyway.
//
// Only what agent/ imports is here, and an import of any other name fails
// the build ("No matching export"): a new use is added here on purpose, with
// the semantics of the real one. FileHandle methods the build cannot see:
// test/image/fs-promises-callbacks.test.ts finds every one agent/ calls
// (from the types) and fails when the class here lacks it. Dependencies keep the real module. Tests
// that run the agent from source use the real module; the bundle tests
// (test/cli/, test/image/) run this one.

import fs from 'node:fs';

/** fn(...args, callback(err, value)) as a promise of value */
const promised =
  (fn) =>
  (...args) =>
    new Promise((resolve, reject) => fn(...args, (err, value) => (err ? reject(err) : resolve(value))));

export const stat = promised(fs.stat);
export const lstat = promised(fs.lstat);
export const readdir = promised(fs.readdir);
export const readlink = promised(fs.readlink);
// fs/promises' realpath is realpath(3), as fs.realpath.native (fs.realpath
// resolves links in JS and can answer differently, e.g. under /proc)
export const realpath = promised(fs.realpath.native);
export const mkdir = promised(fs.mkdir);
export const rename = promised(fs.rename);
export const unlink = promised(fs.unlink);
export const readFile = promised(fs.readFile);

/** The FileHandle methods the agent calls. Like the real one, close() of a
 * closed handle resolves and never closes the number again (another open may
 * have been given it by then), and a closed handle's fd is -1. */
class FileHandle {
  #fd;
  constructor(fd) {
    this.#fd = fd;
  }
  get fd() {
    return this.#fd;
  }
  stat(options) {
    return promised(fs.fstat)(this.#fd, options);
  }
  /** { bytesRead, buffer }, as the real read(buffer, offset, length, position) */
  read(buffer, offset, length, position) {
    return new Promise((resolve, reject) =>
      fs.read(this.#fd, buffer, offset, length, position, (err, bytesRead, buf) => (err ? reject(err) : resolve({ bytesRead, buffer: buf }))),
    );
  }
  /** from the current position to the end, as the real one */
  readFile(options) {
    return promised(fs.readFile)(this.#fd, options);
  }
  /** { bytesWritten, buffer }, as the real write(buffer, offset, length, position) */
  write(buffer, offset, length, position) {
    return new Promise((resolve, reject) =>
      fs.write(this.#fd, buffer, offset, length, position, (err, bytesWritten, buf) => (err ? reject(err) : resolve({ bytesWritten, buffer: buf }))),
    );
  }
  /** all of data, from the current position, as the real one */
  writeFile(data, options) {
    return promised(fs.writeFile)(this.#fd, data, options);
  }
  chmod(mode) {
    return promised(fs.fchmod)(this.#fd, mode);
  }
  chown(uid, gid) {
    return promised(fs.fchown)(this.#fd, uid, gid);
  }
  sync() {
    return promised(fs.fsync)(this.#fd);
  }
  close() {
    const fd = this.#fd;
    if (fd === -1) return Promise.resolve();
    this.#fd = -1;
    return promised(fs.close)(fd);
  }
}

export async function open(path, flags, mode) {
  return new FileHandle(await promised(fs.open)(path, flags, mode));
}
