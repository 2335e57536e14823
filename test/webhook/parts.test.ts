// The webhook's small pure parts on their own: key classification and
// did-you-mean, JSON Pointer escaping, secret references for each provider,
// reload notifiers, quantities, listen addresses, and certificate pair checks.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { classifyKey, pointerSegment } from '../../agent/webhook/annotation-keys.ts';
import { closest, editDistance } from '../../agent/webhook/did-you-mean.ts';
import { parseSecretRef } from '../../agent/webhook/secret-ref.ts';
import { parseReload, type ReloadContext } from '../../agent/webhook/reload-annotation.ts';
import { isQuantity } from '../../agent/webhook/quantity.ts';
import { parseListen } from '../../agent/webhook/cli.ts';
import { checkPair } from '../../agent/webhook/cert-watcher.ts';
import { parseFileMode } from '../../agent/webhook/annotation-values.ts';

t.test('key classification', async (t) => {
  t.same(classifyKey('inject'), { kind: 'single', key: 'inject' });
  t.same(classifyKey('mode'), { kind: 'single', key: 'mode' }, '"mode" alone is the injection mode');
  t.same(classifyKey('mode-erlang.cookie'), { kind: 'named', family: 'mode', name: 'erlang.cookie' }, '"mode-NAME" is a file mode');
  t.same(classifyKey('secret-db'), { kind: 'named', family: 'secret', name: 'db' });
  t.same(classifyKey('env-ERLMCP_DB_PASSWORD'), { kind: 'named', family: 'env', name: 'ERLMCP_DB_PASSWORD' });
  t.same(classifyKey('injcet'), { kind: 'unknown', suggestion: 'inject' });
  t.same(classifyKey('secerts-db'), { kind: 'unknown', suggestion: 'secret-db' });
  t.same(classifyKey('requires-cookie'), { kind: 'unknown', suggestion: 'require-cookie' });
  t.same(classifyKey('completely-different'), { kind: 'unknown' });
  t.equal(editDistance('kitten', 'sitting'), 3);
  t.equal(editDistance('secrte', 'secret'), 1, 'a swap of neighbours is one edit');
  t.equal(closest('vault-adress', ['vault-address', 'vault-namespace']), 'vault-address');
  t.equal(closest('xyz', ['vault-address']), undefined);
});

t.test('JSON Pointer escaping of annotation keys (RFC 6901)', async (t) => {
  t.equal(pointerSegment('secrets.erlmcp.io/status'), 'secrets.erlmcp.io~1status');
  t.equal(pointerSegment('a~b/c'), 'a~0b~1c', '"~" is escaped before "/"');
});

t.test('secret references per provider', async (t) => {
  t.same(parseSecretRef('vault:secret/data/database/erlmcp', 'db', {}), { ok: true, value: { provider: 'vault', type: 'vault', spec: { path: 'secret/data/database/erlmcp' } } });
  t.same(parseSecretRef('vault:/secret/data/x', 'db', {}), { ok: true, value: { provider: 'vault', type: 'vault', spec: { path: 'secret/data/x' } } }, 'a leading slash is dropped');
  t.same(parseSecretRef('aws:erlmcp/api-key', 'k', {}), { ok: true, value: { provider: 'aws', type: 'aws', spec: { id: 'erlmcp/api-key' } } });
  t.same(parseSecretRef('aws:arn:aws:secretsmanager:eu-west-1:123456789012:secret:erlmcp-AbCdEf', 'k', {}).ok, true, 'ARNs (with colons) are ids');
  t.same(parseSecretRef('azure:erlmcp-db-password', 'p', {}), { ok: true, value: { provider: 'azure', type: 'azure', spec: { name: 'erlmcp-db-password' } } });
  t.same(parseSecretRef('azure:erlmcp-db-password/0123456789abcdef0123456789abcdef', 'p', {}), { ok: true, value: { provider: 'azure', type: 'azure', spec: { name: 'erlmcp-db-password', version: '0123456789abcdef0123456789abcdef' } } });
  t.same(parseSecretRef('azure:bad_name', 'p', {}).ok, false);
  t.same(parseSecretRef('gcp:erlmcp-db-password', 'g', {}), { ok: true, value: { provider: 'gcp', type: 'gcp', spec: { name: 'erlmcp-db-password' } } });
  t.same(parseSecretRef('gcp:projects/p1/secrets/s1', 'g', {}), { ok: true, value: { provider: 'gcp', type: 'gcp', spec: { name: 'projects/p1/secrets/s1' } } });
  t.same(parseSecretRef('gcp:projects/p1/secrets/s1/versions/latest', 'g', {}), { ok: true, value: { provider: 'gcp', type: 'gcp', spec: { name: 'projects/p1/secrets/s1', version: 'latest' } } });
  t.same(parseSecretRef('gcp:projects/p1/other/s1', 'g', {}).ok, false);
  t.same(parseSecretRef('file:/etc/erlmcp/secrets/db', 'db', {}), { ok: true, value: { provider: 'file-db', type: 'file', spec: { path: 'db' }, providerBlock: { type: 'file', path: '/etc/erlmcp/secrets' } } });
  t.same(parseSecretRef('file:relative/db', 'db', {}).ok, false);
  t.same(parseSecretRef('file:/etc/../db', 'db', {}).ok, false);
  t.same(parseSecretRef('east:secret/data/x', 'db', { east: 'vault' }), { ok: true, value: { provider: 'east', type: 'vault', spec: { path: 'secret/data/x' } } }, 'a provider declared in the inline config');
  t.same(parseSecretRef('local:db', 'db', { local: 'file' }), { ok: true, value: { provider: 'local', type: 'file', spec: { path: 'db' } } });
  t.same(parseSecretRef('vault:', 'db', {}), { ok: false, problem: 'names no secret after "vault:"' });
  t.same(parseSecretRef('vault:secret/data/a b', 'db', {}), { ok: false, problem: 'the reference after "vault:" must not contain whitespace' });
});

t.test('reload notifiers', async (t) => {
  const ctx: ReloadContext = { erlangNode: 'erlmcp@127.0.0.1', erlangCookie: 'cookie.value', sharedProcessNamespace: false, sameContainer: false };
  t.same(parseReload('erlang:erlmcp_config:reload', ctx), { ok: true, value: [{ type: 'erlang', node: 'erlmcp@127.0.0.1', call: 'erlmcp_config:reload()', cookieSecret: 'cookie.value' }] });
  t.same(parseReload('erlang:erlmcp_config:reload(all)', { ...ctx, erlangCookie: '/run/secrets/erlmcp/erlang.cookie' }), { ok: true, value: [{ type: 'erlang', node: 'erlmcp@127.0.0.1', call: 'erlmcp_config:reload(all)', cookieFile: '/run/secrets/erlmcp/erlang.cookie' }] });
  t.same(parseReload('none', ctx), { ok: true, value: [] });
  t.same(parseReload('signal:SIGHUP:beam.smp', { ...ctx, sharedProcessNamespace: true }), { ok: true, value: [{ type: 'signal', signal: 'SIGHUP', processName: 'beam.smp' }] });
  t.same(parseReload('signal:SIGUSR1:/run/erlmcp/erlmcp.pid', { ...ctx, sameContainer: true }), { ok: true, value: [{ type: 'signal', signal: 'SIGUSR1', pidFile: '/run/erlmcp/erlmcp.pid' }] });
  t.same(
    parseReload('erlang:erlmcp_config:reload\nhttp://127.0.0.1:8081/admin/reload-config\n', ctx),
    { ok: true, value: [{ type: 'erlang', node: 'erlmcp@127.0.0.1', call: 'erlmcp_config:reload()', cookieSecret: 'cookie.value' }, { type: 'http', url: 'http://127.0.0.1:8081/admin/reload-config', method: 'POST' }] },
    'one notifier per line, in order',
  );
  t.same(parseReload('http:https://erlmcp.local/reload', ctx), { ok: true, value: [{ type: 'http', url: 'https://erlmcp.local/reload', method: 'POST' }] });
  t.same(parseReload('erlang:Erlmcp:reload', ctx), { ok: false, problem: 'erlang reload is "erlang" (the built-in reload) or erlang:MODULE:FUNCTION with lowercase atoms, e.g. "erlang:erlmcp_config:reload", got "erlang:Erlmcp:reload"' });
  t.same(parseReload('signal:SIGKILL:beam.smp', { ...ctx, sharedProcessNamespace: true }).ok, false);
  t.match(parseReload('exec:/bin/true', ctx), { ok: false, problem: /exec reloads run in the agent container/ });
  t.same(parseReload('erlang:a:b\nsmoke-signal', ctx), { ok: false, problem: 'line 2: unknown notifier "smoke-signal"; use erlang:MODULE:FUNCTION, signal:SIGNAL:TARGET, an http(s) URL, or none' });
  t.same(parseReload('  \n ', ctx), { ok: false, problem: 'is empty; give a notifier such as "erlang:erlmcp_config:reload", or "none"' });
});

t.test('quantities, file modes and listen addresses', async (t) => {
  for (const q of ['10m', '48Mi', '1', '0.5', '1.5Gi', '1e3', '128974848', '129e6', '123Mi']) t.ok(isQuantity(q), `${q} is a quantity`);
  for (const q of ['128MB', 'lots', '', '1.2.3', 'Mi', '-']) t.notOk(isQuantity(q), `${JSON.stringify(q)} is not`);
  t.same(parseFileMode('400'), { ok: true, value: '0400' });
  t.same(parseFileMode('0440'), { ok: true, value: '0440' });
  t.same(parseFileMode('0888').ok, false);
  t.same(parseListen('0.0.0.0:8443'), { host: '0.0.0.0', port: 8443 });
  t.same(parseListen(':8443'), { host: '0.0.0.0', port: 8443 });
  t.same(parseListen('[::]:8443'), { host: '::', port: 8443 });
  t.same(parseListen('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  t.throws(() => parseListen('8443'), { code: 'usage' });
  t.throws(() => parseListen('host:99999'), { code: 'usage' });
});

t.test('certificate pair checks', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'erlmcp-webhook-pair-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const gen = path.join(import.meta.dirname, '..', '..', 'examples', 'kubernetes', 'gen-certs.sh');
  execFileSync('bash', [gen], { env: { ...process.env, OUT_DIR: path.join(dir, 'a') }, stdio: 'ignore' });
  execFileSync('bash', [gen], { env: { ...process.env, OUT_DIR: path.join(dir, 'b') }, stdio: 'ignore' });
  const read = (p: string) => readFileSync(path.join(dir, p), 'utf8');
  const good = checkPair(read('a/tls.crt'), read('a/tls.key'));
  t.equal(good.ok, true);
  t.match(good, { pair: { fingerprint: /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/ } });
  t.same(checkPair(read('a/tls.crt'), read('b/tls.key')), { ok: false, reason: 'the key does not belong to the certificate' });
  t.same(checkPair(read('a/tls.crt'), 'garbage'), { ok: false, reason: 'the key file holds no usable private key' });
  t.same(checkPair('garbage', read('a/tls.key')), { ok: false, reason: 'the certificate file holds no valid PEM certificate' });
});
