// The init gate: fetch every secret, validate, render, write; or fail with a
// report that names every problem. Used by `init`, and as the first step of
// `run` and `exec`.

import { AgentError } from '../errors.ts';
import type { AgentConfig, TemplateConfig } from '../config/load.ts';
import type { Logger } from '../log/logger.ts';
import type { Provider, SecretValue } from '../providers/provider.ts';
import { SecretStore } from '../store/store.ts';
import { writeAtomic, removeStaleTemps, type WriteOptions, type WriteOutcome } from '../writer/atomic-write.ts';
import path from 'node:path';
import { fetchAll, type BackendRead } from './fetch-all.ts';
import { checkValues } from './check-values.ts';
import { renderAll } from './render-all.ts';
import type { PreparedTemplate } from './prepare-templates.ts';
import { ageFields, overdueError, overdueMessage, rotationAge, type RotationAge } from './rotation-age.ts';
import { revokeLeases } from './revoke-leases.ts';

export interface InitDeps {
  config: AgentConfig;
  templates: PreparedTemplate[];
  providers: Map<string, Provider>;
  logger: Logger;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface WrittenFile {
  destination: string;
  bytes: number;
  mode: number;
  outcome: WriteOutcome;
}

export interface InitResult {
  store: SecretStore;
  files: WrittenFile[];
  /** every backend read init made: the sidecar's fetches_total starts from them */
  startupReads: BackendRead[];
}

/** Throws an AgentError whose `problems` list every failure; see failureCode for the precedence. */
export async function runInit(deps: InitDeps): Promise<InitResult> {
  const now = deps.now ?? Date.now;
  const started = now();
  const { store, reads } = await fetchAndCheck(deps);
  // a failed write is not followed by revocation: files written before it
  // hold these credentials, and an app already running (a sidecar restarted
  // in its pod) may read them
  const files = await renderAndWrite(deps.templates, store, deps.logger);
  deps.logger.info({ secrets: store.names().length, files: files.length, durationMs: now() - started }, 'init complete');
  return { store, files, startupReads: reads };
}

/** init's first half, shared with `plan`: every secret (or those `names`)
 * fetched and every rule checked, or an AgentError listing every problem */
export async function fetchAndCheck(deps: InitDeps, names?: string[]): Promise<{ store: SecretStore; reads: BackendRead[] }> {
  const { config, logger } = deps;
  const now = deps.now ?? Date.now;
  const { values, failures, reads } = await fetchAll({
    config,
    providers: deps.providers,
    logger,
    deadline: now() + config.init.timeout,
    now,
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
    ...(names ? { names } : {}),
  });

  const errors: AgentError[] = [...failures].map(([name, e]) => prefixed(name, e));
  const problems = checkValues(config, deps.templates, values, now());
  if (problems.length) errors.push(new AgentError('validation', problems[0]!.message, { problems: problems.map((p) => p.message) }));
  const failing = reportAges(config, values, now(), logger).filter((a) => a.overdue && config.secrets[a.secret]?.failInit === true);
  if (failing.length) errors.push(overdueError(failing));
  if (errors.length) {
    // what was fetched is handed to no one: leases (database roles...) would
    // otherwise live out their TTL, one set per failed attempt
    await revokeLeases(values, deps, 'as unused: init failed');
    throw combine(errors);
  }

  const store = new SecretStore();
  for (const [name, v] of values) store.set(name, v, now());
  return { store, reads };
}

/** the rotation-age policy at init: a warning per overdue secret, and per
 * secret whose backend did not say when its version was made */
function reportAges(config: InitDeps['config'], values: Map<string, SecretValue>, now: number, logger: Logger): RotationAge[] {
  const ages: RotationAge[] = [];
  for (const [name, value] of values) {
    const a = rotationAge(config.secrets[name]!, value, now);
    if (!a) continue;
    ages.push(a);
    if (a.overdue) logger.warn({ ...ageFields(a), outcome: 'rotation-overdue', failInit: config.secrets[name]!.failInit === true }, overdueMessage(a));
    else if (a.ageMs === undefined) logger.warn({ secret: name, maxAgeSeconds: Math.floor(a.maxAgeMs / 1000) }, `secret ${name} has a maxAge, but its backend did not say when its current version was made: its age is unknown and not checked`);
    else logger.debug(ageFields(a), 'secret within its maxAge');
  }
  return ages;
}

export async function renderAndWrite(templates: Iterable<PreparedTemplate>, store: SecretStore, logger: Logger): Promise<WrittenFile[]> {
  const list = [...templates];
  const rendered = renderAll(list, store.templateData());
  // temps a killed agent left: beside each destination, and anywhere under the output roots
  await removeStaleTemps(
    list.map((t) => path.dirname(t.config.destination)),
    list.flatMap((t) => (t.config.outputRoot !== undefined ? [t.config.outputRoot] : [])),
  );
  const files: WrittenFile[] = [];
  for (const r of rendered) {
    const c = r.template.config;
    const outcome = await writeAtomic(c.destination, r.bytes, writeOptionsFor(c));
    files.push({ destination: c.destination, bytes: r.bytes.length, mode: c.mode, outcome });
    logger.info({ file: c.destination, bytes: r.bytes.length, mode: `0${c.mode.toString(8)}`, outcome, secrets: [...r.template.secrets] }, `template ${outcome}`);
  }
  return files;
}

/** what the writer needs of a template's config: mode, the root it must stay in and, when given, owner */
export function writeOptionsFor(c: TemplateConfig): WriteOptions {
  return {
    mode: c.mode,
    ...(c.outputRoot !== undefined ? { root: c.outputRoot } : {}),
    ...(c.uid !== undefined ? { uid: c.uid } : {}),
    ...(c.gid !== undefined ? { gid: c.gid } : {}),
  };
}

function prefixed(name: string, e: AgentError): AgentError {
  if (e.message.startsWith(`${name}:`)) return e;
  return new AgentError(e.code, `${name}: ${e.message}`, { retryable: e.retryable, ...(e.provider ? { provider: e.provider } : {}), where: e.where ?? `secrets.${name}`, cause: e });
}

/** Backend failures (exit 4) outrank missing or invalid values (exit 3): when a
 * backend is down, what we could not fetch was never checked at all. */
export function combine(errors: AgentError[]): AgentError {
  if (errors.length === 1) return errors[0]!;
  const order = ['internal', 'auth', 'unavailable', 'timeout', 'missing', 'validation', 'template', 'config', 'usage'] as const;
  const code = order.find((c) => errors.some((e) => e.code === c)) ?? 'internal';
  const problems = errors.flatMap((e) => e.problems);
  return new AgentError(code, `${problems.length} problems`, { problems });
}

