// What a container would run in one of our images, checked without Docker:
// which Dockerfile stage an image reference names, which paths that stage
// is known to contain, and whether a container's command (its own, or the
// image's ENTRYPOINT) names files that exist there. A manifest whose command
// is missing from its image never starts, and a webhook that never starts
// refuses every labelled pod under failurePolicy Fail; schema checks cannot
// see that.

import path from 'node:path';
import { all, execForm, last, type Dockerfile, type Stage } from './dockerfile.ts';

/** the repository our images are published under (docs/containers.md) */
export const IMAGE_REPOSITORY = 'ghcr.io/erlmcp/erlmcp-secrets';

/** Our tag convention: `TAG` is the default target (`runtime`, the Node
 * bundle), `TAG-binary` the single executable (`runtime-binary`). Any
 * repository counts (a private mirror keeps the tags). */
export function stageForImage(image: string): 'runtime' | 'runtime-binary' {
  const tag = /:([^:/@]+)(@.*)?$/.exec(image)?.[1] ?? 'latest';
  return tag === 'binary' || tag.endsWith('-binary') ? 'runtime-binary' : 'runtime';
}

/** `--from=x --chown=a:b src... dest` -> sources and destination */
function copyOperands(args: string): { sources: string[]; dest: string } {
  const words = args.trim().startsWith('[') ? execFormWords(args) : args.split(/\s+/);
  const operands = words.filter((w) => !w.startsWith('--'));
  return { sources: operands.slice(0, -1), dest: operands.at(-1)! };
}

function execFormWords(args: string): string[] {
  const argv: unknown = JSON.parse(args);
  if (!Array.isArray(argv)) throw new Error(`not exec form: ${args}`);
  return argv.map(String);
}

/** Paths a stage is known to contain: every COPY destination (a directory
 * destination gets each source's base name, a glob stays a pattern), and
 * every program an exec-form RUN or HEALTHCHECK ran in a stage built FROM
 * the same base: the build ran it, so the base image has it. */
export function knownPaths(df: Dockerfile, stage: Stage): { files: Set<string>; patterns: RegExp[] } {
  const files = new Set<string>();
  const patterns: RegExp[] = [];
  for (const copy of [...all(stage, 'COPY'), ...all(stage, 'ADD')]) {
    const { sources, dest } = copyOperands(copy.args);
    const intoDir = dest.endsWith('/') || sources.length > 1 || sources.some((s) => /[*?[]/.test(s));
    for (const src of sources) {
      if (!intoDir) {
        files.add(path.posix.normalize(dest));
        continue;
      }
      const name = path.posix.basename(src);
      if (/[*?[]/.test(name)) {
        const glob = name.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
        patterns.push(new RegExp(`^${path.posix.join(dest, '').replace(/[.+^${}()|\\]/g, '\\$&')}${glob}$`));
      } else files.add(path.posix.join(dest, name));
    }
  }
  const base = df.resolveFrom(stage);
  for (const s of df.stages.filter((x) => df.resolveFrom(x) === base)) {
    for (const i of [...all(s, 'RUN'), ...all(s, 'HEALTHCHECK')]) {
      const args = i.keyword === 'HEALTHCHECK' ? i.args.replace(/^.*?\bCMD\s+/, '') : i.args;
      if (!args.startsWith('[')) continue;
      const program = execForm({ ...i, args })[0];
      if (program?.startsWith('/')) files.add(program);
    }
  }
  return { files, patterns };
}

export interface ContainerLike {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
}

/** what the container runs: Kubernetes' rule (command replaces ENTRYPOINT
 * and drops CMD; args replace CMD) applied to the stage's ENTRYPOINT/CMD */
export function effectiveArgv(c: ContainerLike, stage: Stage): string[] {
  const entrypoint = last(stage, 'ENTRYPOINT');
  const cmd = last(stage, 'CMD');
  if (c.command && c.command.length > 0) return [...c.command, ...(c.args ?? [])];
  return [...(entrypoint ? execForm(entrypoint) : []), ...(c.args ?? (cmd ? execForm(cmd) : []))];
}

/** [] when the program (and, for node, the script it is given) exists in the
 * stage the container's image names; otherwise what is wrong */
export function commandProblems(df: Dockerfile, c: ContainerLike): string[] {
  if (!c.image) return [`${c.name}: no image`];
  const stageName = stageForImage(c.image);
  const stage = df.stage(stageName);
  const argv = effectiveArgv(c, stage);
  const { files, patterns } = knownPaths(df, stage);
  const exists = (p: string): boolean => files.has(p) || patterns.some((r) => r.test(p));
  const where = `${c.name} (${c.image}, Dockerfile stage ${stageName})`;
  if (argv.length === 0) return [`${where}: runs nothing (no command and no ENTRYPOINT)`];
  const out: string[] = [];
  const program = argv[0]!;
  if (!program.startsWith('/')) out.push(`${where}: "${program}" is not an absolute path (distroless has no shell or PATH lookup to rely on)`);
  else if (!exists(program)) out.push(`${where}: ${program} does not exist in the image`);
  if (path.posix.basename(program) === 'node') {
    const script = argv.slice(1).find((a) => !a.startsWith('-'));
    if (script === undefined) out.push(`${where}: node is given no script`);
    else if (!exists(script)) out.push(`${where}: node's script ${script} does not exist in the image`);
  }
  return out;
}

/** the subcommand the program is asked to run (first argument after the
 * program, and after node's script when the program is node) */
export function subcommandOf(df: Dockerfile, c: ContainerLike): string | undefined {
  const argv = effectiveArgv(c, df.stage(stageForImage(c.image ?? '')));
  const rest = path.posix.basename(argv[0] ?? '') === 'node' ? argv.slice(argv.findIndex((a, i) => i > 0 && !a.startsWith('-')) + 1) : argv.slice(1);
  return rest[0];
}
