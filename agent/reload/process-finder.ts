// Finds target processes for the `signal` notifier: by pid file, or by name
// through /proc (works across containers of a pod with shareProcessNamespace).
// Also tells whether a process is a BEAM (the Erlang VM), which SIGHUP and
// friends kill unless the application installed a handler.

import { readdir, readlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { readBounded, readHead } from '../files/bounded-read.ts';

export interface ProcessInfo {
  pid: number;
  /** /proc/PID/comm: the kernel's name (15 chars at most) */
  comm: string;
  /** argv as far as its first MAX_CMDLINE_BYTES go (matching uses argv[0]), when readable */
  argv: string[];
  /** /proc/PID/exe target, when readable (needs same user or CAP_SYS_PTRACE) */
  exe: string | undefined;
}

export interface ProcFs {
  /** where proc is mounted; tests point this at a fake tree */
  root: string;
}

const DEFAULT_PROC: ProcFs = { root: '/proc' };

/** comm is at most 16 bytes in the kernel; a little more tolerates a fake tree's newline */
const MAX_COMM_BYTES = 64;
/** argv[0] is what matching reads, and a path fits in PATH_MAX (4096). The
 * rest of a cmdline is the other process's to size: with PR_SET_MM it can
 * point its argv at megabytes of its memory, which we would read for every
 * process on every notify */
export const MAX_CMDLINE_BYTES = 4096;

export async function readProcessInfo(pid: number, proc: ProcFs = DEFAULT_PROC): Promise<ProcessInfo | undefined> {
  const dir = `${proc.root}/${pid}`;
  let comm: string;
  try {
    comm = (await readHead(`${dir}/comm`, MAX_COMM_BYTES)).toString('utf8').replace(/\n$/, '');
  } catch {
    return undefined; // gone, or not a process
  }
  const argv = await readHead(`${dir}/cmdline`, MAX_CMDLINE_BYTES)
    .then((b) => b.toString('utf8').split('\0').filter((a, i, all) => a !== '' || i < all.length - 1))
    .catch(() => [] as string[]);
  const exe = await readlink(`${dir}/exe`).catch(() => undefined);
  return { pid, comm, argv, exe };
}

const MAX_PID_FILE_BYTES = 4096;

/** pid from a pid file: first token must be a positive integer */
export async function readPidFile(path: string): Promise<number> {
  // a pid file is written by the application: a FIFO or a huge file must not stall the notifier
  const text = (await readBounded(path, MAX_PID_FILE_BYTES)).toString('utf8');
  const token = text.trim().split(/\s+/)[0] ?? '';
  if (!/^[1-9]\d*$/.test(token)) throw new Error(`pid file ${path} does not hold a process id (starts with "${token.slice(0, 20)}")`);
  return Number(token);
}

/** the process matches `name` by comm, argv[0]'s basename or exe's basename */
export function matchesName(p: ProcessInfo, name: string): boolean {
  // the kernel cuts comm to 15 characters
  if (p.comm === name || (name.length > 15 && p.comm === name.slice(0, 15))) return true;
  const argv0 = p.argv[0];
  if (argv0 && basename(argv0) === name) return true;
  return p.exe !== undefined && basename(p.exe.replace(/ \(deleted\)$/, '')) === name;
}

export async function findProcessesByName(name: string, proc: ProcFs = DEFAULT_PROC, exclude: number[] = [process.pid]): Promise<ProcessInfo[]> {
  const entries = await readdir(proc.root);
  const found: ProcessInfo[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (exclude.includes(pid)) continue;
    const info = await readProcessInfo(pid, proc);
    if (info && matchesName(info, name)) found.push(info);
  }
  return found.sort((a, b) => a.pid - b.pid);
}

/** the Erlang VM's emulator is beam.smp (or beam / beam.emu in odd builds) */
export function isBeam(p: ProcessInfo): boolean {
  const names = [p.comm, p.exe && basename(p.exe.replace(/ \(deleted\)$/, '')), p.argv[0] && basename(p.argv[0])];
  return names.some((n) => typeof n === 'string' && /^beam(\.smp|\.emu)?$/.test(n));
}
