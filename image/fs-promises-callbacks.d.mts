// Types of fs-promises-callbacks.mjs, for the TypeScript test that checks it
// against node:fs/promises: the real signatures, and of FileHandle only the
// methods the shim has.
import type * as fsp from 'node:fs/promises';

export declare const stat: typeof fsp.stat;
export declare const lstat: typeof fsp.lstat;
export declare const readdir: typeof fsp.readdir;
export declare const readlink: typeof fsp.readlink;
export declare const realpath: typeof fsp.realpath;
export declare const mkdir: typeof fsp.mkdir;
export declare const rename: typeof fsp.rename;
export declare const unlink: typeof fsp.unlink;
export declare const readFile: typeof fsp.readFile;
export type FileHandle = Pick<fsp.FileHandle, 'fd' | 'stat' | 'read' | 'write' | 'readFile' | 'writeFile' | 'chmod' | 'chown' | 'sync' | 'close'>;
export declare function open(path: string, flags?: string | number, mode?: number): Promise<FileHandle>;
