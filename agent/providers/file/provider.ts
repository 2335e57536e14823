// The `file` provider: secrets from the local file system. The default for
// local runs and docker compose, and the reader of Kubernetes Secrets mounted
// as volumes.
//
// Resolution (provider `path`, relative to the config file's directory):
//
// * `path` is a directory: secret `db` lives at <dir>/<spec.path ?? "db">,
//   the first of these that exists:
//     db/        a directory: each file is a key, its content the value, byte
//                for byte. This is exactly a mounted Kubernetes Secret
//                (kubelet's ..data symlink layout is followed; entries
//                starting with "." and subdirectories are ignored).
//     db.json, db.yaml, db.yml
//                a flat map key -> value; numbers keep the text they were
//                written as, null is "", nested values become JSON text.
//     db.env     KEY=value lines, parsed by dotenv (quote values holding "#"
//                or spanning lines; a line dotenv would drop is an error).
//     db         a plain file: its content is key `value`, minus one trailing
//                newline (the one editors and `echo` add).
//   A spec.path that ends in .json/.yaml/.yml/.env names that file directly.
//
// * `path` is one .json/.yaml/.yml file: the secret's key map is the map at
//   `spec.select ?? "db"`, dotted for nesting (`select: erlmcp.db`).
//   One .env file: every secret sees all of its keys (it has no nesting).
//
// Values must be UTF-8 text. Errors: nothing there -> missing (naming what
// was tried); unreadable -> auth; malformed file -> validation, with line and
// column only, never content. The version is a keyed content hash, so
// `changed()` re-reads and compares; `watch()` uses chokidar.

import { stat } from 'node:fs/promises';
import path from 'node:path';
import { AgentError } from '../../errors.ts';
import type { Provider, ProviderContext, SecretRef, SecretValue } from '../provider.ts';
import { providerConfigSchema, secretSpecSchema, type FileSecretSpec } from './schema.ts';
import { childPlace, type FilePlace } from './file-place.ts';
import { fsError, isNotFound } from './fs-errors.ts';
import { candidateEntries, formatOfName, locate, type StructuredFormat } from './locate.ts';
import { readUtf8 } from './read-file.ts';
import { readKeysDir } from './read-keys-dir.ts';
import { parseJson } from './parse-json.ts';
import { parseYaml } from './parse-yaml.ts';
import { parseEnv } from './parse-env.ts';
import { isTreeMap, keyMapOf, kindOf, selectMap, type Tree } from './tree.ts';
import { contentVersion } from './content-hash.ts';
import { watchSecret, type SecretWatch, type WatchTarget } from './watch-secret.ts';
import { WatchHub } from './watch-hub.ts';
import { newestMtime } from './modified-at.ts';
import { versionTime } from '../version-time.ts';

type Layout = { mode: 'dir' } | { mode: 'file'; format: StructuredFormat };

const WATCH_DEBOUNCE_MS = 200;

export async function create(name: string, config: Record<string, unknown>, ctx: ProviderContext): Promise<FileProvider> {
  const parsed = providerConfigSchema.safeParse(config);
  if (!parsed.success) {
    throw new AgentError('config', `providers.${name}: a file provider needs { type: file, path: <directory or .json/.yaml/.yml/.env file> }`, {
      where: `providers.${name}`,
    });
  }
  const root: FilePlace = { display: parsed.data.path, abs: path.resolve(ctx.baseDir, parsed.data.path) };
  return new FileProvider(name, root, await layoutOf(name, root), ctx);
}

async function layoutOf(name: string, root: FilePlace): Promise<Layout> {
  let s;
  try {
    s = await stat(root.abs);
  } catch (e) {
    if (isNotFound(e)) {
      throw new AgentError('config', `providers.${name}.path: ${root.display} does not exist (resolved to ${root.abs}); create it or fix the path`, {
        where: `providers.${name}.path`,
        provider: name,
      });
    }
    throw fsError(e, root, name);
  }
  if (s.isDirectory()) return { mode: 'dir' };
  const format = formatOfName(root.abs);
  if (s.isFile() && format) return { mode: 'file', format };
  throw new AgentError('config', `providers.${name}.path: ${root.display} is neither a directory nor a .json/.yaml/.yml/.env file`, {
    where: `providers.${name}.path`,
    provider: name,
  });
}

export class FileProvider implements Provider {
  readonly type = 'file';
  readonly name: string;
  readonly #root: FilePlace;
  readonly #layout: Layout;
  readonly #ctx: ProviderContext;
  readonly #watches = new Set<SecretWatch>();
  // one directory watcher for all of this provider's secrets that live there
  readonly #hub = new WatchHub((e) => {
    this.#ctx.logger.error({ provider: this.name, err: e instanceof Error ? e.name : typeof e }, 'cannot start the file watcher; changes are still picked up by the refresh interval');
  });

  constructor(name: string, root: FilePlace, layout: Layout, ctx: ProviderContext) {
    this.name = name;
    this.#root = root;
    this.#layout = layout;
    this.#ctx = ctx;
  }

  async fetch(ref: SecretRef, signal: AbortSignal): Promise<SecretValue> {
    if (signal.aborted) throw new AgentError('timeout', `reading secret "${ref.name}" from ${this.#root.display} was cancelled`, { provider: this.name });
    const data = await this.#read(ref, specOf(ref, this.name), signal);
    return { data, version: contentVersion(data) };
  }

  async changed(ref: SecretRef, known: SecretValue, signal: AbortSignal): Promise<boolean> {
    return (await this.fetch(ref, signal)).version !== known.version;
  }

  /** the mtime of what the secret is read from: a file secret's version time */
  async versionCreatedAt(ref: SecretRef): Promise<number | undefined> {
    const spec = specOf(ref, this.name);
    let mtime: number | undefined;
    try {
      if (this.#layout.mode === 'dir') {
        const source = await locate(this.#root, spec.path ?? ref.name, ref.name, this.name);
        mtime = await newestMtime(source.place, source.kind === 'keys-dir');
      } else mtime = await newestMtime(this.#root, false);
    } catch {
      return undefined; // gone since the read: the next read says so
    }
    const checked = versionTime(mtime, this.#ctx.now());
    if (checked.problem) this.#ctx.logger.warn({ provider: this.name, secret: ref.name, problem: checked.problem }, `the file of secret ${ref.name} has a modification time out of bounds: ${checked.problem}; its age is unknown`);
    return checked.at;
  }

  watch(ref: SecretRef, onChange: () => void): () => void {
    const w = watchSecret({
      hub: this.#hub,
      target: this.#watchTarget(ref, specOf(ref, this.name)),
      readState: () =>
        this.fetch(ref, new AbortController().signal).then(
          (v) => v.version ?? '',
          (e: unknown) => `error:${(e as { code?: unknown }).code ?? 'unknown'}`,
        ),
      onChange,
      logger: this.#ctx.logger,
      debounceMs: WATCH_DEBOUNCE_MS,
      label: ref.name,
    });
    this.#watches.add(w);
    return () => {
      this.#watches.delete(w);
      void w.close();
    };
  }

  /** how many directories are watched now: one per directory, however many secrets live in it */
  get watchedDirectories(): number {
    return this.#hub.directories;
  }

  /** resolves when every current watcher listens (tests change files only after this) */
  async whenWatching(): Promise<void> {
    await Promise.all([...this.#watches].map((w) => w.ready));
  }

  describe(ref: SecretRef): string {
    const spec = specOf(ref, this.name);
    if (this.#layout.mode === 'dir') return `file ${childPlace(this.#root, spec.path ?? ref.name).display}`;
    if (this.#layout.format === 'env') return `file ${this.#root.display}`;
    return `file ${this.#root.display} at "${spec.select ?? ref.name}"`;
  }

  async close(): Promise<void> {
    const all = [...this.#watches];
    this.#watches.clear();
    await Promise.all(all.map((w) => w.close()));
    await this.#hub.close();
  }

  async #read(ref: SecretRef, spec: FileSecretSpec, signal: AbortSignal): Promise<Record<string, string>> {
    if (this.#layout.mode === 'dir') {
      if (spec.select !== undefined) throw this.#specMismatch(ref, 'select', 'a directory', 'use `path` to name the entry under it');
      const source = await locate(this.#root, spec.path ?? ref.name, ref.name, this.name);
      // one value per file: `echo`, `printf '...\n'` and editors end it with a
      // line break the value does not include (trim: false keeps the bytes)
      const trim = spec.trim ?? true;
      if (source.kind === 'keys-dir') {
        const data = await readKeysDir(source.place, this.name, signal);
        return trim ? Object.fromEntries(Object.entries(data).map(([k, v]) => [k, trimLineBreak(v)])) : data;
      }
      const text = await readUtf8(source.place, this.name, signal);
      if (source.kind === 'plain') return { value: trim ? trimLineBreak(text) : text };
      if (source.format === 'env') return parseEnv(text, source.place);
      const tree = parseStructured(source.format, text, source.place);
      if (!isTreeMap(tree)) throw notAMap(source.place, `${source.place.display}`, kindOf(tree), this.name);
      return keyMapOf(tree);
    }
    if (spec.path !== undefined) throw this.#specMismatch(ref, 'path', 'a single file', 'use `select` to pick the map inside it');
    const text = await readUtf8(this.#root, this.name, signal);
    if (this.#layout.format === 'env') {
      if (spec.select !== undefined) throw this.#specMismatch(ref, 'select', 'an .env file, which has no nesting', 'every secret sees all its keys; drop `select`');
      return parseEnv(text, this.#root);
    }
    const tree = parseStructured(this.#layout.format, text, this.#root);
    if (!isTreeMap(tree)) throw notAMap(this.#root, this.#root.display, kindOf(tree), this.name);
    const select = spec.select ?? ref.name;
    const found = selectMap(tree, select.split('.'));
    if (found.ok) return keyMapOf(found.map);
    if (found.reason === 'absent') {
      throw new AgentError('missing', `no secret "${ref.name}" in ${this.#root.display}: it has no key "${found.at}"${topKeysHint(tree)}`, {
        where: this.#root.abs,
        provider: this.name,
      });
    }
    throw notAMap(this.#root, `"${found.at}" in ${this.#root.display}`, found.kind, this.name);
  }

  #watchTarget(ref: SecretRef, spec: FileSecretSpec): WatchTarget {
    if (this.#layout.mode === 'file') {
      const file = this.#root.abs;
      const dir = path.dirname(file);
      // kubelet-mounted ConfigMaps/Secrets swap "..data" rather than the file
      return { root: dir, depth: 0, isRelevant: (p) => p === file || (path.dirname(p) === dir && path.basename(p).startsWith('..')) };
    }
    const entry = spec.path ?? ref.name;
    const base = path.join(this.#root.abs, entry);
    const dir = path.dirname(base);
    const candidates = new Set(candidateEntries(entry).map((c) => path.join(this.#root.abs, c)));
    return {
      root: dir,
      depth: 1,
      isRelevant: (p) =>
        candidates.has(p) || p.startsWith(base + path.sep) || (path.dirname(p) === dir && path.basename(p).startsWith('..')),
    };
  }

  #specMismatch(ref: SecretRef, field: string, what: string, hint: string): AgentError {
    return new AgentError('config', `secrets.${ref.name}.${field}: provider "${this.name}" reads ${what} (${this.#root.display}); ${hint}`, {
      where: `secrets.${ref.name}.${field}`,
      provider: this.name,
    });
  }
}

function specOf(ref: SecretRef, provider: string): FileSecretSpec {
  const parsed = secretSpecSchema.safeParse(ref.spec);
  if (!parsed.success) {
    throw new AgentError('config', `secrets.${ref.name}: a file secret takes only \`path\` (directory provider), \`select\` (single-file provider) and \`trim\` (true or false)`, {
      where: `secrets.${ref.name}`,
      provider,
    });
  }
  return parsed.data;
}

/** one trailing line break (\n or \r\n), not all trailing whitespace: a value may end in spaces on purpose */
export function trimLineBreak(v: string): string {
  return v.replace(/\r?\n$/, '');
}

function parseStructured(format: 'json' | 'yaml', text: string, place: FilePlace): Tree {
  const body = text.replace(/^\uFEFF/, ''); // a BOM from a Windows editor is not content
  return format === 'json' ? parseJson(body, place) : parseYaml(body, place);
}

function notAMap(place: FilePlace, what: string, kind: string, provider: string): AgentError {
  return new AgentError('validation', `${what} must be a map of key -> value, but it is ${kind}`, { where: place.abs, provider });
}

// Key names are not secret; listing a few makes a typo obvious.
function topKeysHint(tree: Record<string, unknown>): string {
  const keys = Object.keys(tree);
  if (keys.length === 0) return ' (the file is an empty map)';
  return ` (top-level keys: ${keys.slice(0, 10).join(', ')}${keys.length > 10 ? ', ...' : ''})`;
}
