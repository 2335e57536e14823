// File (YAML or JSON) or env text -> one validated AgentConfig. Every problem
// is collected and reported at once, each with its file and config path.
// Nothing else in the agent reads raw config.

import path from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { AgentError } from '../errors.ts';
import { PROVIDER_TYPES, knownProviderTypes } from '../providers/registry.ts';
import { configSchema, type Escape, type RawConfig } from './schema.ts';
import { issueLines } from './issues.ts';
import { readConfigText, MAX_CONFIG_BYTES } from './read-config-file.ts';
import { jsonCommentAt } from './json-comments.ts';
import type { Rule } from './rules-schema.ts';
import type { ReloadConfig } from './reload-schema.ts';
import { reloadProblems } from '../reload/erlang-config-check.ts';
import { dict, own, protoKeyPaths } from './dict.ts';
import { destinationLengthProblem } from './path-limits.ts';

export const CONFIG_ENV = 'ERLMCP_SECRETS_CONFIG';

export interface ProviderConfig {
  name: string;
  type: string;
  /** validated by the provider type's own schema */
  settings: Record<string, unknown>;
}

export interface SecretConfig {
  name: string;
  provider: string;
  providerType: string;
  /** provider-specific fields (path, id, name, version...) */
  spec: Record<string, unknown>;
  require: Record<string, Rule>;
  /** false when the config gave no `require`: then any key may be used */
  requireDeclared: boolean;
  ttlMs?: number;
  refreshMs?: number;
  /** rotation-age policy (pipeline/rotation-age.ts) */
  maxAgeMs?: number;
  failInit?: boolean;
}

export interface TemplateConfig {
  index: number;
  /** for messages: `templates[0] (templates/erlmcp.env.mustache)` */
  label: string;
  sourcePath?: string;
  contents?: string;
  /** absolute, inside outputRoot */
  destination: string;
  /** the config's output.root: the writer refuses a directory that leads out of it */
  outputRoot?: string;
  mode: number;
  /** undefined: inferred from the destination's name at render time */
  escape?: Escape;
  uid?: number;
  gid?: number;
}

export interface AgentConfig {
  /** where the config came from: a file path or the env var name */
  origin: string;
  /** relative paths in the config resolve against this directory */
  baseDir: string;
  providers: Record<string, ProviderConfig>;
  secrets: Record<string, SecretConfig>;
  templates: TemplateConfig[];
  reload: ReloadConfig[];
  outputRoot: string;
  refresh: RawConfig['refresh'];
  init: RawConfig['init'];
  server: RawConfig['server'];
  exec: RawConfig['exec'];
  log: RawConfig['log'];
  /** optional: tests and older callers build configs without it */
  shutdown?: RawConfig['shutdown'];
}

export async function loadConfigFile(file: string): Promise<AgentConfig> {
  const text = await readConfigText(file);
  return parseConfigText(text, file, path.dirname(path.resolve(file)));
}

/** Config from `-c FILE`, else from the ERLMCP_SECRETS_CONFIG env var (the webhook injects it so). */
export async function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<AgentConfig> {
  if (file !== undefined) return loadConfigFile(file);
  const text = env[CONFIG_ENV];
  if (text !== undefined && text.trim() !== '') return parseConfigText(text, `$${CONFIG_ENV}`, process.cwd());
  throw new AgentError('usage', `no config: pass -c FILE or set ${CONFIG_ENV} to the config's YAML or JSON text`);
}

/** overrides output.root (relative: to the working directory), e.g. to run an example config anywhere */
export const OUTPUT_ROOT_ENV = 'ERLMCP_SECRETS_OUTPUT_ROOT';

export function parseConfigText(text: string, origin: string, baseDir: string, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  // the env var has no file-size check in front of it
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw configError(origin, [`larger than ${MAX_CONFIG_BYTES} bytes, far more than any agent config; is this the right file?`]);
  const rootOverride = env[OUTPUT_ROOT_ENV]?.trim();
  return configFromDocument(parseDocument(text, origin), origin, baseDir, rootOverride ? { outputRoot: path.resolve(rootOverride) } : {});
}

export interface DocumentOptions {
  /** how messages name template `index` (default: `templates[i] (file name)`); the
   * webhook names the annotation the template came from */
  templateLabel?: (index: number, fallback: string) => string;
  /** replaces output.root (from ERLMCP_SECRETS_OUTPUT_ROOT), already absolute */
  outputRoot?: string;
}

/** An already-parsed config document (from a file, the env var, or the one the
 * webhook assembles) -> a validated AgentConfig, or an AgentError listing every
 * problem: the schema, each provider's and secret's own schema, the cross-checks
 * between secrets, reload notifiers and templates' destinations. */
export function configFromDocument(raw: unknown, origin: string, baseDir: string, opts: DocumentOptions = {}): AgentConfig {
  // an empty file usually means a ConfigMap key that was renamed or never
  // filled: running with nothing declared would "succeed" and render nothing
  if (raw === null || raw === undefined) throw configError(origin, ['the config is empty (no providers, secrets or templates); check that -c points at the agent config and that it was mounted with content']);
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    const kind = Array.isArray(raw) ? 'a list' : `a ${typeof raw}`;
    throw configError(origin, [`the config must be a map with the keys providers, secrets, templates, reload; this one is ${kind}`]);
  }
  const proto = protoKeyPaths(raw);
  if (proto.length) throw configError(origin, proto.map((at) => `${at}: a key named "__proto__" cannot be used (it cannot be told apart from JavaScript's object prototype); rename it`));
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw configError(origin, issueLines(parsed.error, [], configSchema));
  return resolve(parsed.data, origin, baseDir, opts);
}

/** YAML 1.2 reads `mode: 0400` as the decimal number 400 (octal 0620): a
 * plain number with a leading zero stays the text it was written as, so the
 * mode is read as octal and any other field says it wanted a number */
const leadingZeroAsText = { tag: 'tag:yaml.org,2002:str', default: true, test: /^0[0-9]+$/, resolve: (s: string) => s };

function parseDocument(text: string, origin: string): unknown {
  // JSON has no comments; YAML would read `// x` as part of a key and report
  // a puzzling "unknown key", so say what is wrong instead
  const comment = jsonCommentAt(text);
  if (comment) throw configError(origin, [`not valid JSON at line ${comment.line}, column ${comment.col}: JSON does not allow comments; remove them, or write the config as YAML and use # comments`]);
  try {
    // YAML 1.2 is a superset of JSON, so one parser serves both formats.
    // logLevel error: the parser's warnings go to process.emitWarning and
    // quote the source line, which may hold anything.
    return parseYaml(text, { prettyErrors: true, uniqueKeys: true, logLevel: 'error', customTags: (tags) => [leadingZeroAsText, ...tags] });
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const [line, col] = e.linePos?.[0] ? [e.linePos[0].line, e.linePos[0].col] : [undefined, undefined];
      // Only the first line of the parser's message: later lines quote the
      // source text, which we never echo.
      let first = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      if (e.code === 'MULTIPLE_DOCS') first = 'more than one YAML document (a second --- line); the agent config is one document';
      const where = line === undefined ? '' : ` at line ${line}, column ${col}`;
      throw configError(origin, [`not valid YAML or JSON${where}: ${first}`]);
    }
    // the yaml parser throws ReferenceError for aliases: an unknown anchor,
    // or so many alias uses that expanding them would exhaust memory
    if (e instanceof ReferenceError) {
      const why = /Excessive alias count/.test(e.message)
        ? 'YAML aliases (*name) expand to too many nodes, as in a "billion laughs" document; write the values out'
        : /Unresolved alias/.test(e.message)
          ? 'a YAML alias (*name) names no anchor (&name) defined before it'
          : 'a YAML alias cannot be resolved';
      throw configError(origin, [`not valid YAML: ${why}`]);
    }
    throw e;
  }
}

function resolve(cfg: RawConfig, origin: string, baseDir: string, opts: DocumentOptions): AgentConfig {
  const problems: string[] = [];
  const providers = dict<ProviderConfig>();
  for (const [name, p] of Object.entries(cfg.providers)) {
    const type = own(PROVIDER_TYPES, p.type);
    if (!type) {
      problems.push(`providers.${name}.type: unknown type "${p.type}" (known: ${knownProviderTypes().join(', ')})`);
      continue;
    }
    const r = type.configSchema.safeParse(p);
    if (!r.success) problems.push(...issueLines(r.error, ['providers', name], type.configSchema));
    else providers[name] = { name, type: p.type, settings: r.data };
  }

  const secrets = dict<SecretConfig>();
  const providerNames = Object.keys(cfg.providers);
  for (const [name, s] of Object.entries(cfg.secrets)) {
    const { provider, require, ttl, refresh, maxAge, failInit, ...spec } = s;
    const rawProvider = own(cfg.providers, provider);
    if (!rawProvider) {
      const known = providerNames.length ? providerNames.join(', ') : 'none declared under providers:';
      problems.push(`secrets.${name}.provider: unknown provider "${provider}" (known: ${known})`);
      continue;
    }
    const type = own(PROVIDER_TYPES, rawProvider.type);
    if (!type) continue; // already reported under providers
    const r = type.secretSchema.safeParse(spec);
    if (!r.success) {
      problems.push(...issueLines(r.error, ['secrets', name], type.secretSchema, ['provider', 'require', 'ttl', 'refresh', 'maxAge', 'failInit']));
      continue;
    }
    secrets[name] = {
      name,
      provider,
      providerType: rawProvider.type,
      spec: r.data,
      require: require ?? dict(),
      requireDeclared: require !== undefined,
      ...(ttl !== undefined ? { ttlMs: ttl } : {}),
      ...(refresh !== undefined ? { refreshMs: refresh } : {}),
      ...(maxAge !== undefined ? { maxAgeMs: maxAge } : {}),
      ...(failInit !== undefined ? { failInit } : {}),
    };
    if (failInit === true && maxAge === undefined) problems.push(`secrets.${name}.failInit: needs maxAge (how old the secret may be before init fails), e.g. maxAge: 90d`);
  }
  problems.push(...crossCheckRules(secrets));
  problems.push(...reloadProblems(cfg.reload, secrets));

  const outputRoot = opts.outputRoot ?? path.resolve(baseDir, cfg.output.root);
  const templates: TemplateConfig[] = [];
  const seen = new Map<string, number>();
  cfg.templates.forEach((t, index) => {
    const destination = path.resolve(outputRoot, t.destination);
    const rel = path.relative(outputRoot, destination);
    if (rel === '') {
      problems.push(`templates[${index}].destination: ${t.destination} is the output root ${outputRoot} itself; give a file name under it`);
      return;
    }
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      problems.push(`templates[${index}].destination: ${t.destination} is outside the output root ${outputRoot}; write under output.root or change output.root`);
      return;
    }
    const label = `templates[${index}] (${t.source ?? path.basename(destination)})`;
    const named = opts.templateLabel?.(index, label) ?? label;
    const tooLong = destinationLengthProblem(destination);
    if (tooLong !== undefined) {
      problems.push(`${named === label ? `templates[${index}].destination` : named}: ${shortPath(destination)} cannot be created: ${tooLong}`);
      return;
    }
    const dup = seen.get(destination);
    if (dup !== undefined) {
      problems.push(`templates[${index}].destination: ${destination} is also written by templates[${dup}]`);
      return;
    }
    seen.set(destination, index);
    const sourcePath = t.source === undefined ? undefined : path.resolve(baseDir, t.source);
    templates.push({
      index,
      label: named,
      ...(sourcePath !== undefined ? { sourcePath } : {}),
      ...(t.contents !== undefined ? { contents: t.contents } : {}),
      destination,
      outputRoot,
      mode: t.mode,
      ...(t.escape !== undefined ? { escape: t.escape } : {}),
      ...(t.uid !== undefined ? { uid: t.uid } : {}),
      ...(t.gid !== undefined ? { gid: t.gid } : {}),
    });
  });

  if (problems.length) throw configError(origin, problems);
  return {
    origin,
    baseDir,
    providers,
    secrets,
    templates,
    reload: cfg.reload,
    outputRoot,
    refresh: cfg.refresh,
    init: cfg.init,
    server: cfg.server,
    exec: cfg.exec,
    log: cfg.log,
    shutdown: cfg.shutdown,
  };
}

/** a long path in a message: its start and its end, enough to find it */
function shortPath(p: string): string {
  return p.length <= 120 ? p : `${p.slice(0, 60)}...${p.slice(-40)}`;
}

/** rules that reference other secrets must point at something declared */
function crossCheckRules(secrets: Record<string, SecretConfig>): string[] {
  const out: string[] = [];
  for (const s of Object.values(secrets)) {
    for (const [key, rule] of Object.entries(s.require)) {
      if (!rule.matchesCertificate) continue;
      const dot = rule.matchesCertificate.indexOf('.');
      const other = rule.matchesCertificate.slice(0, dot);
      const otherKey = rule.matchesCertificate.slice(dot + 1);
      const target = own(secrets, other);
      if (!target) out.push(`secrets.${s.name}.require.${key}.matchesCertificate: no secret "${other}" is declared`);
      else if (target.requireDeclared && !Object.hasOwn(target.require, otherKey)) {
        out.push(`secrets.${s.name}.require.${key}.matchesCertificate: secret "${other}" declares no key "${otherKey}"`);
      }
    }
    for (const [key, rule] of Object.entries(s.require)) {
      if (rule.minLength !== undefined && rule.maxLength !== undefined && rule.minLength > rule.maxLength) {
        out.push(`secrets.${s.name}.require.${key}: minLength ${rule.minLength} is greater than maxLength ${rule.maxLength}`);
      }
    }
  }
  return out;
}

function configError(origin: string, lines: string[]): AgentError {
  const problems = lines.map((l) => `${origin}: ${l}`);
  const head = problems.length === 1 ? problems[0]! : `${origin}: ${problems.length} problems in the config`;
  return new AgentError('config', head, { where: origin, problems });
}
