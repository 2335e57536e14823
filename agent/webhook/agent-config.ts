// Annotations + webhook defaults + the inline config -> the agent config the
// injected containers run with (JSON in ERLMCP_SECRETS_CONFIG).
//
// Precedence, lowest first:
//   1. webhook defaults (vault address/role/mount/CA, aws region, ...), only
//      for providers the pod uses;
//   2. secrets.erlmcp.io/config (a whole agent config, YAML or JSON);
//   3. the specific annotations (vault-address, role, reload, init-timeout...).
// Maps merge key by key with the higher level winning. Two things are never
// merged silently: a secret declared both in config and as secret-<name>,
// and two templates writing one file; both are denied. `reload` from the
// annotation replaces the list from config. output.root and server.listen
// belong to the webhook (they must match the volume and the probes).

import { parse as parseYaml } from 'yaml';
import { requireSchema } from '../config/rules-schema.ts';
import { issueLines } from '../config/issues.ts';
import { dict, own, protoKeyPaths } from '../config/dict.ts';
import { checkConfigDocument } from '../pipeline/offline-check.ts';
import { key } from './annotation-keys.ts';
import { shown } from './annotation-values.ts';
import type { AnnotationSettings } from './annotations.ts';
import { parseReload } from './reload-annotation.ts';
import { parseSecretRef } from './secret-ref.ts';
import { TLS_DIR } from './pod-types.ts';
import type { WebhookConfig } from './webhook-config.ts';

type Json = Record<string, unknown>;

export interface AgentConfigInputs {
  settings: AnnotationSettings;
  defaults: WebhookConfig;
  mountPath: string;
  /** undefined: the agent's HTTP server is off (init-only, exec) */
  listen: string | undefined;
  quit: boolean;
  execMode: boolean;
  sharedProcessNamespace: boolean;
  /** the projected service-account token path when the pod opts out of the automatic one */
  jwtFile?: string;
  /** where the projected token of vault-jwt-audience is mounted (TOKEN_DIR/token) */
  audienceJwtFile?: string;
  /** the Kubernetes Secret holding Vault's CA, mounted at TLS_DIR */
  tlsSecret?: string;
}

/** The config is assembled as far as the annotations allow even when there
 * are problems, so that one answer names every problem at once. */
export interface AgentConfigResult {
  config: Json;
  problems: string[];
  warnings: string[];
}

const CONFIG = key('config');

export function buildAgentConfig(inp: AgentConfigInputs): AgentConfigResult {
  const { settings: s, defaults } = inp;
  const problems: string[] = [];
  const warnings: string[] = [];
  const inline: Json = structuredClone(s.config ?? {});

  const inlineProviders = asRecord(inline.providers);
  const inlineSecrets = asRecord(inline.secrets);
  const inlineTypes = dict<string>();
  for (const [name, p] of Object.entries(inlineProviders)) {
    const t = asRecord(p).type;
    if (typeof t === 'string') inlineTypes[name] = t;
  }

  // --- secrets ---
  const secrets = dict<Json>();
  /** secret name -> the annotation that declared it, for messages */
  const declaredBy = dict<string>();
  for (const [name, def] of Object.entries(inlineSecrets)) {
    secrets[name] = asRecord(def);
    declaredBy[name] = CONFIG;
  }
  const fileProviders = dict<Json>();
  for (const [name, value] of Object.entries(s.secrets)) {
    const k = key(`secret-${name}`);
    if (Object.hasOwn(inlineSecrets, name)) {
      problems.push(`${k}: secret "${name}" is also declared in ${CONFIG} (secrets.${name}); keep one of them`);
      continue;
    }
    const r = parseSecretRef(value, name, inlineTypes);
    if (!r.ok) {
      problems.push(`${k}: ${r.problem}`);
      continue;
    }
    secrets[name] = { provider: r.value.provider, ...r.value.spec };
    declaredBy[name] = k;
    if (r.value.providerBlock) fileProviders[r.value.provider] = r.value.providerBlock;
  }
  for (const [name, value] of Object.entries(s.require)) {
    const k = key(`require-${name}`);
    const target = secrets[name];
    if (!target) {
      problems.push(`${k}: no secret "${name}" is declared; add ${key(`secret-${name}`)}`);
      continue;
    }
    const r = parseRequire(value);
    if (!r.ok) problems.push(`${k}: ${r.problem}`);
    else target.require = r.value;
  }
  // An erlang reload needs the node's cookie. Without reload-erlang-cookie, the
  // webhook's erlmcp default applies: the pod's own `cookie` secret, or else
  // that secret fetched from the default place (secret/data/erlang/cookie).
  let erlangCookie = s.reloadErlangCookie;
  const erlangReload = s.reload !== undefined && s.reload.split('\n').some((l) => l.trim() === 'erlang' || l.trim().startsWith('erlang:'));
  if (erlangReload && erlangCookie === undefined) {
    const d = defaults.erlang.cookie;
    if (Object.hasOwn(secrets, d.secret)) erlangCookie = `${d.secret}.${d.key}`;
    else if (d.ref !== undefined) {
      const r = parseSecretRef(d.ref, d.secret, inlineTypes);
      if (!r.ok) problems.push(`the webhook config's erlang.cookie.ref: ${r.problem}`);
      else {
        secrets[d.secret] = { provider: r.value.provider, ...r.value.spec, require: dict([[d.key, {}]]) };
        declaredBy[d.secret] = `${key('reload')} (the webhook's erlang.cookie default)`;
        erlangCookie = `${d.secret}.${d.key}`;
        warnings.push(`${key('reload')}: the erlang reload uses the node cookie at ${d.ref} (key ${d.key}), the webhook's default; set ${key('reload-erlang-cookie')} to use another`);
      }
    }
  }
  if (Object.keys(s.secrets).length === 0 && Object.keys(inlineSecrets).length === 0) {
    problems.push(`${key('inject')}: the pod asks for injection but declares no secret; add ${key('secret-NAME')} (e.g. "vault:secret/data/database/erlmcp") or secrets in ${CONFIG}`);
  }

  // --- providers: defaults < inline < annotations ---
  const providers = dict<Json>();
  for (const [name, p] of Object.entries(inlineProviders)) providers[name] = asRecord(p);
  Object.assign(providers, fileProviders);
  const used = new Map<string, string>(); // provider name -> first annotation using it
  for (const [name, def] of Object.entries(secrets)) {
    const p = def.provider;
    if (typeof p === 'string' && !used.has(p)) used.set(p, declaredBy[name]!);
  }
  for (const [name, by] of used) {
    const base = defaultProvider(name, inp);
    if (!base && !providers[name]) {
      problems.push(`${by}: uses provider "${name}", which ${CONFIG} does not declare under providers:`);
      continue;
    }
    if (base && providers[name] && providers[name].type !== undefined && providers[name].type !== base.type) continue; // a custom provider that shadows a built-in name
    providers[name] = deepMerge(base ?? {}, providers[name] ?? {});
  }
  const overrides: [string, string, string | undefined][] = [
    ['aws', 'region', s.awsRegion],
    ['azure', 'vaultUrl', s.azureVaultUrl],
    ['gcp', 'project', s.gcpProject],
  ];
  for (const [name, field, value] of overrides) {
    const p = providers[name];
    if (value !== undefined && p && p.type === name) p[field] = value;
  }
  const unused: [string, string, boolean][] = [
    ['aws-region', 'aws', s.awsRegion !== undefined],
    ['azure-vault-url', 'azure', s.azureVaultUrl !== undefined],
    ['gcp-project', 'gcp', s.gcpProject !== undefined],
    ['vault-address', 'vault', s.vaultAddress !== undefined],
    ['role', 'vault', s.role !== undefined],
  ];
  for (const [annotation, name, given] of unused) {
    if (given && providers[name]?.type !== name) warnings.push(`${key(annotation)} is set, but no secret uses the ${name} provider`);
  }
  const vault = providers.vault;
  if (vault && vault.type === 'vault') {
    applyVaultAnnotations(vault, inp);
    problems.push(...checkVault(vault, used.get('vault') ?? CONFIG));
    if (typeof vault.address === 'string' && vault.address.startsWith('http://')) {
      warnings.push(`Vault is reached over plain http (${vault.address}); tokens and secrets cross the network unencrypted`);
    }
  }
  problems.push(...checkCloudProviders(providers, secrets, used));

  // --- templates ---
  const templates: Json[] = [];
  /** for messages: the annotation (or config entry) each template came from */
  const templateLabels: string[] = [];
  const inlineTemplates = Array.isArray(inline.templates) ? (inline.templates as unknown[]) : [];
  const destinations = new Map<string, string>();
  inlineTemplates.forEach((t, i) => {
    const tpl = asRecord(t);
    templates.push(tpl);
    templateLabels.push(`${CONFIG} templates[${i}]`);
    const dest = tpl.destination;
    if (typeof dest !== 'string') return;
    const rel = relativeToRoot(dest, inp.mountPath);
    if (rel === undefined) {
      problems.push(`${CONFIG}: templates[${i}].destination ${shown(dest)} is outside the secrets volume ${inp.mountPath}; give a name relative to it`);
      return;
    }
    destinations.set(rel, `${CONFIG} templates[${i}]`);
  });
  for (const [name, contents] of Object.entries(s.templates)) {
    const k = key(`template-${name}`);
    const other = destinations.get(name);
    if (other !== undefined) {
      problems.push(`${k}: ${inp.mountPath}/${name} is also written by ${other}`);
      continue;
    }
    destinations.set(name, k);
    templateLabels.push(k);
    templates.push({
      contents,
      destination: name,
      mode: own(s.fileModes, name) ?? defaults.fileMode,
      ...(own(s.escapes, name) !== undefined ? { escape: s.escapes[name] } : {}),
    });
  }
  for (const name of Object.keys(s.escapes)) {
    if (!Object.hasOwn(s.templates, name)) problems.push(`${key(`escape-${name}`)}: there is no ${key(`template-${name}`)} for it to apply to`);
  }
  for (const name of Object.keys(s.fileModes)) {
    if (!Object.hasOwn(s.templates, name)) problems.push(`${key(`mode-${name}`)}: there is no ${key(`template-${name}`)} for it to apply to`);
  }

  // --- exec env ---
  const envEntries = Object.entries(s.env);
  let exec: Json | undefined = inline.exec === undefined ? undefined : asRecord(inline.exec);
  if (envEntries.length > 0) {
    if (!inp.execMode) {
      for (const [name] of envEntries) {
        problems.push(`${key(`env-${name}`)}: environment variables are set only in mode exec (the agent then starts the app); in other modes render a template and have the app read the file`);
      }
    } else {
      exec = { ...(exec ?? {}), env: dict([...Object.entries(asRecord(exec?.env)), ...envEntries]) };
    }
  }
  if (inp.execMode && templates.length === 0 && envEntries.length === 0 && !exec) {
    warnings.push('mode exec with no template and no env-NAME annotation: the app gets no secrets, only the validation gate');
  } else if (!inp.execMode && templates.length === 0) {
    warnings.push('no template is declared: secrets are fetched and validated, but no file is written');
  }

  // --- reload ---
  let reload: unknown = inline.reload;
  if (s.reload !== undefined) {
    const t = s.reloadErlangTls;
    const tlsSet = t === undefined ? 0 : [t.caFile, t.certFile, t.keyFile].filter((f) => f !== undefined).length;
    if (tlsSet > 0 && tlsSet < 3) {
      problems.push(`${key('reload-erlang-tls-ca-file')}, ${key('reload-erlang-tls-cert-file')} and ${key('reload-erlang-tls-key-file')}: TLS distribution needs all three`);
    }
    // the built-in reload re-reads the Erlang term files the pod renders
    const erlangConfigFiles = templates.flatMap((tpl) => {
      const r = asRecord(tpl);
      const dest = r.destination;
      const erlangEscape = r.escape === 'erlang' || (r.escape === undefined && typeof dest === 'string' && /\.config$/.test(dest));
      return erlangEscape && typeof dest === 'string' ? [dest.startsWith('/') ? dest : `${inp.mountPath}/${dest}`] : [];
    });
    const r = parseReload(s.reload, {
      erlangNode: s.reloadErlangNode ?? defaults.erlang.node,
      ...(erlangCookie !== undefined ? { erlangCookie } : {}),
      ...(s.reloadErlangPort !== undefined ? { erlangPort: s.reloadErlangPort } : {}),
      ...(tlsSet === 3 ? { erlangTls: t as { caFile: string; certFile: string; keyFile: string } } : {}),
      erlangConfigFiles,
      sharedProcessNamespace: inp.sharedProcessNamespace,
      sameContainer: inp.execMode,
    });
    if (!r.ok) problems.push(`${key('reload')}: ${r.problem}`);
    else {
      reload = r.value;
      for (const n of r.value) {
        const cs = n.cookieSecret;
        if (typeof cs === 'string' && !Object.hasOwn(secrets, cs.split('.')[0]!)) {
          problems.push(`${key('reload-erlang-cookie')}: no secret "${cs.split('.')[0]}" is declared; add ${key(`secret-${cs.split('.')[0]}`)}`);
        }
      }
    }
  } else if (s.reloadErlangNode !== undefined || s.reloadErlangCookie !== undefined) {
    problems.push(`${key(s.reloadErlangNode !== undefined ? 'reload-erlang-node' : 'reload-erlang-cookie')}: applies only with ${key('reload')}: "erlang:MODULE:FUNCTION"`);
  } else if (s.reloadErlangPort !== undefined || s.reloadErlangTls !== undefined) {
    problems.push(`${key(s.reloadErlangPort !== undefined ? 'reload-erlang-port' : 'reload-erlang-tls-ca-file')}: applies only with ${key('reload')}: "erlang" or "erlang:MODULE:FUNCTION"`);
  }
  if (inp.listen === undefined && s.reload !== undefined && !inp.execMode && Array.isArray(reload) && reload.length > 0) {
    warnings.push('reload notifiers never run in mode init-only: nothing stays to watch for changes');
  }

  // --- output, server and the rest ---
  const output = asRecord(inline.output);
  if (typeof output.root === 'string' && output.root.replace(/\/+$/, '') !== inp.mountPath) {
    problems.push(`${CONFIG}: output.root ${shown(output.root)} differs from the secrets volume ${inp.mountPath}; drop output.root or set ${key('volume-mount-path')}`);
  }
  const server = asRecord(inline.server);
  if (typeof server.listen === 'string' && inp.listen !== undefined && server.listen !== inp.listen) {
    problems.push(`${CONFIG}: server.listen is set by the webhook to ${inp.listen} (the probes use it); drop it, or use ${key('port')}`);
  }

  const config: Json = { ...inline };
  config.providers = providers;
  config.secrets = secrets;
  config.templates = templates;
  if (reload !== undefined) config.reload = reload;
  else delete config.reload;
  config.output = { root: inp.mountPath };
  config.server = { ...server, enabled: inp.listen !== undefined, listen: inp.listen ?? '127.0.0.1:9102', quit: inp.quit || server.quit === true };
  if (s.initTimeout !== undefined) config.init = { ...asRecord(inline.init), timeout: s.initTimeout };
  if (s.refreshInterval !== undefined) config.refresh = { ...asRecord(inline.refresh), interval: s.refreshInterval };
  if (s.logLevel !== undefined) config.log = { ...asRecord(inline.log), level: s.logLevel };
  if (exec !== undefined) config.exec = exec;

  // the same check `erlmcp-secrets check` runs, on the config as the agent will read it
  // (after the webhook's own checks pass: theirs name the annotation to change, and the
  // schema would only say the same again of the config they describe)
  if (problems.length) return { config, problems, warnings };
  const checked = checkConfigDocument(JSON.parse(JSON.stringify(config)) as unknown, {
    origin: ASSEMBLED,
    templateLabel: (i) => templateLabels[i],
    envLabel: (name) => (Object.hasOwn(s.env, name) ? key(`env-${name}`) : undefined),
  });
  return { config, problems: checked.problems, warnings };
}

/** how messages name the config the webhook builds */
const ASSEMBLED = `${CONFIG}: the agent config built from the annotations is invalid`;

function defaultProvider(name: string, inp: AgentConfigInputs): Json | undefined {
  const d = inp.defaults;
  switch (name) {
    case 'vault': {
      const auth: Json = { method: 'kubernetes', mount: d.vault.authMount };
      if (d.vault.role !== undefined) auth.role = d.vault.role;
      const p: Json = { type: 'vault', auth };
      if (d.vault.address !== undefined) p.address = d.vault.address;
      if (d.vault.namespace !== undefined) p.namespace = d.vault.namespace;
      if (d.vault.caFile !== undefined) p.tls = { caFile: d.vault.caFile };
      return p;
    }
    case 'aws':
      return { type: 'aws', ...(d.aws.region !== undefined ? { region: d.aws.region } : {}) };
    case 'azure':
      return { type: 'azure', ...(d.azure.vaultUrl !== undefined ? { vaultUrl: d.azure.vaultUrl } : {}) };
    case 'gcp':
      return { type: 'gcp', ...(d.gcp.project !== undefined ? { project: d.gcp.project } : {}) };
    default:
      return undefined;
  }
}

function applyVaultAnnotations(vault: Json, inp: AgentConfigInputs): void {
  const s = inp.settings;
  const auth = asRecord(vault.auth);
  vault.auth = auth;
  if (auth.method === undefined) auth.method = 'kubernetes';
  if (s.vaultAddress !== undefined) vault.address = s.vaultAddress;
  if (s.vaultNamespace !== undefined) vault.namespace = s.vaultNamespace;
  if (s.role !== undefined) auth.role = s.role;
  if (s.authPath !== undefined) auth.mount = s.authPath;
  if (s.vaultJwtAudience !== undefined && inp.audienceJwtFile !== undefined && (auth.method === 'kubernetes' || auth.method === 'jwt')) {
    // Vault's jwt auth checks the projected token's signature and audience itself: no TokenReview
    if (auth.method === 'kubernetes') auth.mount = s.authPath ?? 'jwt';
    auth.method = 'jwt';
    auth.jwtFile ??= inp.audienceJwtFile;
  }
  if (auth.method === 'kubernetes' && inp.jwtFile !== undefined && auth.jwtFile === undefined) auth.jwtFile = inp.jwtFile;
  // a mounted CA secret without an explicit file: its conventional ca.crt key
  const tlsSecretCa = inp.tlsSecret !== undefined && asRecord(vault.tls).caFile === undefined ? `${TLS_DIR}/ca.crt` : undefined;
  const caFile = s.vaultCaFile ?? tlsSecretCa;
  if (caFile !== undefined) vault.tls = { ...asRecord(vault.tls), caFile };
}

function checkVault(vault: Json, by: string): string[] {
  const out: string[] = [];
  if (typeof vault.address !== 'string') {
    out.push(`${by}: uses Vault, but no Vault address is known; set ${key('vault-address')} or vault.address in the webhook config`);
  }
  const auth = asRecord(vault.auth);
  if ((auth.method === 'kubernetes' || auth.method === 'jwt') && typeof auth.role !== 'string') {
    out.push(`${by}: Vault's ${String(auth.method)} auth needs a role; set ${key('role')} (e.g. "erlmcp") or vault.role in the webhook config`);
  }
  return out;
}

function checkCloudProviders(providers: Record<string, Json>, secrets: Record<string, Json>, used: Map<string, string>): string[] {
  const out: string[] = [];
  const need: Record<string, [field: string, annotation: string, webhookKey: string]> = {
    aws: ['region', 'aws-region', 'aws.region'],
    azure: ['vaultUrl', 'azure-vault-url', 'azure.vaultUrl'],
  };
  const gcp = providers.gcp;
  if (gcp && gcp.type === 'gcp' && gcp.project === undefined) {
    // a full resource name carries its project
    const fromPath = Object.values(secrets)
      .filter((s) => s.provider === 'gcp' && typeof s.name === 'string')
      .map((s) => /^projects\/([^/]+)\//.exec(s.name as string)?.[1])
      .find((p) => p !== undefined);
    if (fromPath !== undefined) gcp.project = fromPath;
    else out.push(`${used.get('gcp') ?? CONFIG}: uses gcp, but no project is known; set ${key('gcp-project')}, gcp.project in the webhook config, or name the secret as projects/P/secrets/S`);
  }
  for (const [name, [field, annotation, webhookKey]] of Object.entries(need)) {
    const p = providers[name];
    if (!p || p.type !== name || p[field] !== undefined) continue;
    out.push(`${used.get(name) ?? CONFIG}: uses ${name}, but no ${field} is known; set ${key(annotation)} or ${webhookKey} in the webhook config`);
  }
  return out;
}

function parseRequire(value: string): { ok: true; value: unknown } | { ok: false; problem: string } {
  const t = value.trim();
  let raw: unknown;
  if (t.startsWith('{') || t.startsWith('[') || t.includes('\n') || t.includes(': ')) {
    try {
      raw = parseYaml(t, { uniqueKeys: true });
    } catch (e) {
      return { ok: false, problem: `not valid YAML or JSON: ${(e as Error).message.split('\n')[0]}` };
    }
  } else {
    const keys = t.split(',').map((x) => x.trim());
    if (keys.some((x) => x === '')) return { ok: false, problem: `must be a comma-separated key list like "username,password" or a YAML map of rules, got ${shown(value)}` };
    raw = keys;
  }
  if (protoKeyPaths(raw).length) return { ok: false, problem: 'a key named "__proto__" cannot be used (it cannot be told apart from JavaScript\'s object prototype); rename it' };
  const r = requireSchema.safeParse(raw);
  if (!r.success) return { ok: false, problem: issueLines(r.error).join('; ') };
  return { ok: true, value: raw };
}

/** a destination relative to the volume, or undefined when it leaves the volume */
function relativeToRoot(dest: string, root: string): string | undefined {
  let rel = dest;
  if (dest.startsWith('/')) {
    if (!dest.startsWith(`${root}/`)) return undefined;
    rel = dest.slice(root.length + 1);
  }
  const segs = rel.split('/');
  if (rel === '' || segs.some((x) => x === '..' || x === '')) return undefined;
  return segs.filter((x) => x !== '.').join('/');
}

function asRecord(v: unknown): Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
}

function deepMerge(low: Json, high: Json): Json {
  const out = dict(Object.entries(low));
  for (const [k, v] of Object.entries(high)) {
    const l = out[k];
    out[k] = l !== null && typeof l === 'object' && !Array.isArray(l) && v !== null && typeof v === 'object' && !Array.isArray(v) ? deepMerge(l as Json, v as Json) : v;
  }
  return out;
}
