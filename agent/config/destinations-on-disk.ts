// The config check of destinations (load.ts) is on paths as written; a
// directory under the output root that is a symlink (left by an earlier
// container, or a mounted volume) would still take a template's file
// elsewhere, and a file where a directory belongs fails only after the
// secrets were fetched. This looks at the disk before anything is fetched.

import { stat } from 'node:fs/promises';
import path from 'node:path';
import { AgentError } from '../errors.ts';
import type { AgentConfig } from './load.ts';
import { leadsOutside, realpathOfExisting } from '../writer/inside-root.ts';

/** one line per template whose directory resolves, through symlinks,
 * outside the output root, or is already taken by something not a directory */
export async function destinationProblemsOnDisk(config: Pick<AgentConfig, 'outputRoot' | 'templates'>): Promise<string[]> {
  const root = await realpathOfExisting(config.outputRoot);
  const problems: string[] = [];
  const rootBlocker = await nonDirectoryOnTheWay(config.outputRoot);
  if (rootBlocker !== undefined) {
    return [`output.root: ${rootBlocker} is a file, not a directory; point output.root at the volume the templates are written to`];
  }
  for (const t of config.templates) {
    const outside = await leadsOutside(config.outputRoot, path.dirname(t.destination));
    if (outside !== undefined) {
      problems.push(`templates[${t.index}].destination: ${t.destination} leads through a symlink to ${outside}, outside the output root ${root}; remove the link or write elsewhere under output.root`);
      continue;
    }
    const blocker = await nonDirectoryOnTheWay(path.dirname(t.destination));
    if (blocker !== undefined) problems.push(`templates[${t.index}].destination: ${blocker} is a file, so ${t.destination} cannot be written; remove it or change the destination`);
  }
  return problems;
}

/** Runs `prepare` (the template checks) and reports its problems together
 * with the disk's, so that one run names everything that is wrong. */
export async function withDestinationsChecked<T>(config: Pick<AgentConfig, 'outputRoot' | 'templates' | 'origin'>, prepare: () => Promise<T>): Promise<T> {
  const problems = (await destinationProblemsOnDisk(config)).map((p) => `${config.origin}: ${p}`);
  let prepared: T;
  try {
    prepared = await prepare();
  } catch (e) {
    if (problems.length === 0 || !(e instanceof AgentError) || (e.code !== 'template' && e.code !== 'config')) throw e;
    problems.push(...e.problems);
  }
  if (problems.length === 0) return prepared!;
  const head = problems.length === 1 ? problems[0]! : `${config.origin}: ${problems.length} problems in the config`;
  throw new AgentError('config', head, { where: config.origin, problems });
}

/** the deepest existing prefix of `dir`, when it is something other than a directory */
async function nonDirectoryOnTheWay(dir: string): Promise<string | undefined> {
  for (let p = dir; ; p = path.dirname(p)) {
    try {
      return (await stat(p)).isDirectory() ? undefined : p;
    } catch {
      if (path.dirname(p) === p) return undefined;
    }
  }
}
