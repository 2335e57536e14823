// A small Dockerfile reader for tests that check the image without Docker:
// stages of instructions, continuation lines joined, comments dropped, global
// ARG defaults kept for resolving `FROM ${X}`.

import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  from: string;
  name: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  args: Map<string, string>;
  stages: Stage[];
  stage(name: string): Stage;
  /** FROM with a global ARG default substituted */
  resolveFrom(stage: Stage): string;
}

export function parseDockerfile(text: string): Dockerfile {
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i++;
      const next = lines[i]!;
      if (/^\s*#/.test(next)) continue;
      line = `${line.slice(0, -1)} ${next.trim()}`;
    }
    const m = /^\s*(\w+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const keyword = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (keyword === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest)!;
      stages.push({ from: f[1]!, name: f[2] ?? String(stages.length), instructions: [] });
    } else if (stages.length === 0 && keyword === 'ARG') {
      const [k, v = ''] = rest.split('=');
      args.set(k!, v);
    } else {
      stages.at(-1)?.instructions.push({ keyword, args: rest, line: start });
    }
  }
  return {
    args,
    stages,
    stage(name) {
      const s = stages.find((x) => x.name === name);
      if (!s) throw new Error(`Dockerfile has no stage "${name}"`);
      return s;
    },
    resolveFrom(s) {
      return s.from.replace(/^\$\{(\w+)\}$/, (_, k: string) => args.get(k) ?? '');
    },
  };
}

export function readDockerfile(root: string): Dockerfile {
  return parseDockerfile(readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
}

export const all = (s: Stage, keyword: string): Instruction[] => s.instructions.filter((i) => i.keyword === keyword);
export const last = (s: Stage, keyword: string): Instruction | undefined => all(s, keyword).at(-1);

/** an exec-form (JSON array) instruction's argv; throws on shell form */
export function execForm(i: Instruction): string[] {
  const argv: unknown = JSON.parse(i.args);
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) throw new Error(`line ${i.line}: ${i.keyword} is not exec form`);
  return argv as string[];
}

/** ENV KEY=VALUE pairs of a stage (the single-pair form this Dockerfile uses) */
export function envOf(s: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of all(s, 'ENV')) for (const m of e.args.matchAll(/(\w+)=(\S+)/g)) env[m[1]!] = m[2]!;
  return env;
}
