// The memory a container's cgroup is charged, read from the cgroup itself
// (v1 or v2) by the pid of a process in it: what a memory limit applies to,
// which a process's RSS alone undercounts (page cache of the files it
// mapped, kernel memory) or overcounts (shared pages).

import { readFileSync } from 'node:fs';

export interface CgroupMemory {
  /** bytes charged to the cgroup (v1 memory.usage_in_bytes, v2 memory.current) */
  usage: number;
  /** anonymous memory (v1 total_rss, v2 anon) */
  rss: number;
  /** page cache (v1 total_cache, v2 file) */
  cache: number;
  /** mapped files (v1 total_mapped_file, v2 file_mapped) */
  mappedFile: number;
  /** usage less inactive file pages: what the kubelet calls the working set */
  workingSet: number;
  /** the process's own VmRSS */
  vmRss: number;
}

const MAX_STAT = 64 * 1024;

function stat(text: string): Map<string, number> {
  return new Map(text.slice(0, MAX_STAT).split('\n').flatMap((l) => {
    const [k, v] = l.split(' ');
    return k && v && /^\d+$/.test(v) ? [[k, Number(v)] as [string, number]] : [];
  }));
}

export function cgroupMemory(pid: number): CgroupMemory {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  const v1 = lines.find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
  const vmRssKib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  if (v1) {
    const dir = `/sys/fs/cgroup/memory${v1.split(':')[2]}`;
    const s = stat(readFileSync(`${dir}/memory.stat`, 'utf8'));
    const usage = Number(readFileSync(`${dir}/memory.usage_in_bytes`, 'utf8').trim());
    return { usage, rss: s.get('total_rss') ?? 0, cache: s.get('total_cache') ?? 0, mappedFile: s.get('total_mapped_file') ?? 0, workingSet: usage - (s.get('total_inactive_file') ?? 0), vmRss: vmRssKib * 1024 };
  }
  const v2 = lines.find((l) => l.startsWith('0::'));
  if (!v2) throw new Error(`no memory cgroup for pid ${pid} in /proc/${pid}/cgroup`);
  const dir = `/sys/fs/cgroup${v2.slice(3)}`;
  const s = stat(readFileSync(`${dir}/memory.stat`, 'utf8'));
  const usage = Number(readFileSync(`${dir}/memory.current`, 'utf8').trim());
  return { usage, rss: s.get('anon') ?? 0, cache: s.get('file') ?? 0, mappedFile: s.get('file_mapped') ?? 0, workingSet: usage - (s.get('inactive_file') ?? 0), vmRss: vmRssKib * 1024 };
}

export const formatMiB = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
