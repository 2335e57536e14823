// image/slim-deps.mjs's node-vault entries, on a real esbuild build of
// node-vault: axios is replaced by a stub that names itself when called,
// node-vault's top-level require('https') loads nothing until used, and the
// main build (strict) fails loudly once an entry matches nothing.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { slimDeps } from '../../image/slim-deps.mjs';
import { ROOT } from '../helpers/cli.ts';

const work = mkdtempSync(path.join(tmpdir(), 'slim-deps-vault-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

async function bundle(name: string, source: string, strict = false): Promise<string> {
  const entry = path.join(work, `${name}.cjs`);
  writeFileSync(entry, source);
  const out = path.join(work, `${name}.out.cjs`);
  await build({ entryPoints: [entry], outfile: out, bundle: true, platform: 'node', format: 'cjs', logLevel: 'silent', nodePaths: [path.join(ROOT, 'node_modules')], plugins: [slimDeps({ strict })] });
  return out;
}

t.test('node-vault bundles without axios; without our transport it fails with a message that names the cause', async (t) => {
  const out = await bundle(
    'no-transport',
    `const loaded = () => ['https', 'tls', 'http2', 'zlib'].filter((m) => process.moduleLoadList.includes('NativeModule ' + m));
     const nodeVault = require('node-vault');
     const afterRequire = loaded();
     let error;
     try { nodeVault({ endpoint: 'http://127.0.0.1:1' }); } catch (e) { error = e.message; }
     console.log(JSON.stringify({ afterRequire, error }));`,
  );
  const code = readFileSync(out, 'utf8');
  t.notOk(/AxiosError|follow-redirects|proxy-from-env/.test(code), 'no axios, follow-redirects or proxy-from-env in the output');
  const r = spawnSync(process.execPath, [out], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { afterRequire: string[]; error: string };
  t.same(result.afterRequire, [], 'requiring node-vault loads no https, tls, http2 or zlib');
  t.equal(
    result.error,
    "erlmcp-secrets internal error: node-vault called axios, which is left out of this build (image/slim-deps.mjs); every node-vault client must be given the agent's transport (config['request-promise'], agent/providers/vault/client.ts)",
  );
});

t.test('with a transport given, node-vault runs on it', async (t) => {
  const out = await bundle(
    'with-transport',
    `const nodeVault = require('node-vault');
     const seen = [];
     const transport = async (o) => (seen.push([o.method, o.uri, o.headers['X-Vault-Token']]), { statusCode: 200, body: { data: { ok: true } }, request: { path: new URL(o.uri).pathname } });
     const client = nodeVault({ endpoint: 'http://vault.test:8200', token: 't0k', 'request-promise': { defaults: () => transport } });
     client.request({ method: 'GET', path: '/secret/data/x' }).then((body) => console.log(JSON.stringify({ body, seen })));`,
  );
  const r = spawnSync(process.execPath, [out], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.same(JSON.parse(r.stdout), { body: { data: { ok: true } }, seen: [['GET', 'http://vault.test:8200/v1/secret/data/x', 't0k']] });
});

t.test('strict: a build where the node-vault entries match nothing fails, naming them', async (t) => {
  const e = await bundle('nothing', 'console.log(1);', true).then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  t.ok(e, 'the build failed');
  t.match(e!.message, /slim-deps: .*\/\^axios\$\/ from .*node-vault.*matched nothing/);
  t.match(e!.message, /https from .*node-vault/);
});
