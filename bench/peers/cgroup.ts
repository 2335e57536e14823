// Each sidecar in a memory cgroup of its own, as a container engine would
// put it, to read what a pod's limit is held against: memory.current (all
// memory charged to the group: anonymous, page cache it faulted in, kernel
// memory), with memory.stat's anonymous and file parts, and the working set
// (less the inactive page cache).
//
// The groups are made under the bench's own cgroup (read from
// /proc/self/cgroup), never elsewhere in the hierarchy: whatever limits and
// accounting the bench runs under keep holding its agents. cgroup v2 when its
// memory controller can be enabled there; else the cgroup v1 memory
// controller (hosts that still mount it, where container engines use it too:
// memory.usage_in_bytes and memory.stat rss/cache are v1's names for the same
// counters). Neither: the caller gets the reason instead, and the bench says
// so in its table.

import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface CgroupMemory {
  currentMb: number;
  anonMb: number;
  fileMb: number;
  /** current less the inactive page cache: the working set that kubelet
   * evicts by and `kubectl top` shows */
  workingSetMb: number;
}

export interface Cgroups {
  /** e.g. 'cgroup v2 memory.current' */
  source: string;
  /** the parent of every agent's group */
  root: string;
  version: 1 | 2;
}

export type CgroupSetup = { ok: true; cgroups: Cgroups } | { ok: false; reason: string };

interface Mount {
  point: string;
  root: string;
  fs: string;
  superOptions: string[];
}

/** /proc/self/mountinfo's cgroup mounts */
export function cgroupMounts(mountinfo: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const f = left.split(' ');
    const [fs, , superOpts] = right.split(' ');
    if ((fs === 'cgroup' || fs === 'cgroup2') && f[3] && f[4]) mounts.push({ point: f[4], root: f[3], fs, superOptions: (superOpts ?? '').split(',') });
  }
  return mounts;
}

/** /proc/self/cgroup: the v2 path ("0::/x") and the v1 memory path ("4:memory:/x") */
export function ownCgroups(procCgroup: string): { v2?: string; v1memory?: string } {
  const out: { v2?: string; v1memory?: string } = {};
  for (const line of procCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') out.v2 = m[3];
    else if (m[2]!.split(',').includes('memory')) out.v1memory = m[3];
  }
  return out;
}

const under = (m: Mount, p: string): string => path.join(m.point, path.relative(m.root, p));

/** memory.stat's "key bytes" lines */
export function parseMemoryStat(text: string): Map<string, number> {
  const stat = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v && /^\d+$/.test(v)) stat.set(k, Number(v));
  }
  return stat;
}

const MB = 1024 * 1024;

/** figures of a group from its files; v1 names: rss is anonymous memory, cache the page cache (tmpfs included, as v2's file) */
export function cgroupMemoryOf(version: 1 | 2, current: string, stat: string): CgroupMemory {
  const s = parseMemoryStat(stat);
  const need = (k: string): number => {
    const v = s.get(k);
    if (v === undefined) throw new Error(`memory.stat has no ${k} line`);
    return v;
  };
  const bytes = Number(current.trim());
  if (!Number.isFinite(bytes)) throw new Error(`cannot read the group's memory use: ${JSON.stringify(current.slice(0, 40))}`);
  const [anon, file, inactiveFile] = version === 2 ? ['anon', 'file', 'inactive_file'] : ['total_rss', 'total_cache', 'total_inactive_file'];
  return { currentMb: bytes / MB, anonMb: need(anon) / MB, fileMb: need(file) / MB, workingSetMb: Math.max(0, bytes - need(inactiveFile)) / MB };
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** the groups a bench run that died left (its process gone): removed, so that
 * a crash leaves at most its own until the next run */
function removeStale(parent: string, prefix: string): void {
  let entries: string[];
  try {
    entries = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of entries) {
    const pid = name.startsWith(prefix) ? Number(name.slice(prefix.length)) : NaN;
    if (!Number.isInteger(pid) || alive(pid)) continue;
    try {
      removeAll({ root: path.join(parent, name), source: '', version: 1 });
    } catch {
      // still holds a process: left alone
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** a directory `${prefix}${process.pid}` for the bench's agent groups under the bench's own cgroup, or why not */
export function setUpCgroups(prefix: string): CgroupSetup {
  const tag = `${prefix}${process.pid}`;
  let mounts: Mount[];
  let own: ReturnType<typeof ownCgroups>;
  try {
    mounts = cgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));
    own = ownCgroups(readFileSync('/proc/self/cgroup', 'utf8'));
  } catch (e) {
    return { ok: false, reason: `no /proc cgroup information (${errText(e)})` };
  }
  const reasons: string[] = [];
  const v2 = mounts.find((m) => m.fs === 'cgroup2');
  if (v2 && own.v2 !== undefined) {
    const mine = under(v2, own.v2);
    const controllers = readOr(path.join(mine, 'cgroup.controllers'));
    if (!controllers.split(/\s+/).includes('memory')) reasons.push(`cgroup v2 at ${v2.point} has no memory controller for ${mine} (controllers: ${controllers.trim() || 'none'})`);
    else {
      try {
        // cgroup v2 enables a controller for children only in a group without
        // processes of its own (the root excepted): a bench run from a shell
        // sits in its group, so this fails unless started in a delegated one
        if (!readOr(path.join(mine, 'cgroup.subtree_control')).split(/\s+/).includes('memory')) writeFileSync(path.join(mine, 'cgroup.subtree_control'), '+memory');
        removeStale(mine, prefix);
        const root = path.join(mine, tag);
        mkdirSync(root);
        writeFileSync(path.join(root, 'cgroup.subtree_control'), '+memory');
        return { ok: true, cgroups: { source: 'cgroup v2 memory.current', root, version: 2 } };
      } catch (e) {
        reasons.push(`cannot enable cgroup v2's memory controller below ${mine} (${errText(e)}): run the bench from a group of its own with the controller delegated, or as root on the host`);
      }
    }
  }
  const v1 = mounts.find((m) => m.fs === 'cgroup' && m.superOptions.includes('memory'));
  if (v1 && own.v1memory !== undefined) {
    const root = path.join(under(v1, own.v1memory), tag);
    try {
      removeStale(path.dirname(root), prefix);
      mkdirSync(root);
      return { ok: true, cgroups: { source: 'cgroup v1 memory.usage_in_bytes', root, version: 1 } };
    } catch (e) {
      reasons.push(`cannot create a cgroup v1 memory group ${root} (${errText(e)})`);
    }
  }
  if (reasons.length === 0) reasons.push('no cgroup v2 and no cgroup v1 memory controller mounted');
  return { ok: false, reason: reasons.join('; ') };
}

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export interface AgentCgroup {
  dir: string;
  /** the command that joins the group, then execs cmd: the process starts in it, pid unchanged */
  wrap(cmd: string, args: string[]): { cmd: string; args: string[] };
  read(): CgroupMemory;
  /** once its processes have exited; a group still busy is left to removeAll */
  remove(): void;
}

export function agentCgroup(c: Cgroups, name: string): AgentCgroup {
  const dir = path.join(c.root, name);
  if (existsSync(dir)) rmdirSync(dir); // left by a round that failed
  mkdirSync(dir);
  const file = (f: string) => path.join(dir, f);
  return {
    dir,
    wrap: (cmd, args) => ({ cmd: '/bin/sh', args: ['-c', 'echo $$ > "$0" && exec "$@"', file('cgroup.procs'), cmd, ...args] }),
    read: () => cgroupMemoryOf(c.version, readFileSync(file(c.version === 2 ? 'memory.current' : 'memory.usage_in_bytes'), 'utf8'), readFileSync(file('memory.stat'), 'utf8')),
    remove: () => {
      try {
        rmdirSync(dir);
      } catch {
        // processes still in it: removeAll retries
      }
    },
  };
}

/** removes every agent group and the bench's group (each must be empty of processes by now) */
export function removeAll(c: Cgroups): void {
  for (const d of readdirSync(c.root, { withFileTypes: true })) if (d.isDirectory()) rmdirSync(path.join(c.root, d.name));
  rmdirSync(c.root);
}

/** Drops files from the page cache (written out first), so the next process
 * that reads them is charged for them, as a container is for its image's
 * files; without it, pages another process read first (the bench copying the
 * binary, an earlier round) are charged to that one and missing here. */
export function dropFromPageCache(files: string[]): void {
  for (const f of files) {
    const fd = openSync(f, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // GNU dd's nocache with count=0 is posix_fadvise(DONTNEED) over the whole file
    const r = spawnSync('dd', [`if=${f}`, 'iflag=nocache', 'count=0', 'status=none'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cannot drop ${f} from the page cache (dd iflag=nocache: ${r.stderr || r.error?.message})`);
  }
}
