// CredentialWatch: a replaced jwt/cert file is told from a touched one by
// content; an unreadable, oversized or vanished file is "not replaced" (the
// next real login reports it). And the config's checks of the jwt and cert
// methods.

import t from 'tap';
import { mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialWatch, credentialHash } from '../../agent/providers/vault/credential-watch.ts';
import { providerConfigSchema } from '../../agent/providers/vault/schema.ts';
import { issueLines } from '../../agent/config/issues.ts';

t.test('replaced only when the content differs from what the login used', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cred-watch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'token');
  writeFileSync(file, 'first.jwt.sig\n');
  const watch = new CredentialWatch([file], 1024);
  const login = credentialHash(['first.jwt.sig']);
  t.equal(await watch.replaced(login), false, 'the file the login read');
  t.equal(await watch.replaced(login), false, 'unchanged stat: not read again');
  utimesSync(file, new Date(), new Date(Date.now() + 5000));
  t.equal(await watch.replaced(login), false, 'touched, same content');
  writeFileSync(`${file}.new`, 'second.jwt.sig\n');
  renameSync(`${file}.new`, file);
  t.equal(await watch.replaced(login), true, 'new content');
  t.equal(await watch.replaced(login), false, 'reported once per change');
  writeFileSync(file, 'x'.repeat(2048));
  t.equal(await watch.replaced(login), false, 'over the read bound: not read, not replaced');
  rmSync(file);
  t.equal(await watch.replaced(login), false, 'gone: the next login says so');
});

t.test('cert: both files count, in order', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cred-watch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'c'), 'CERT');
  writeFileSync(join(dir, 'k'), 'KEY');
  const watch = new CredentialWatch([join(dir, 'c'), join(dir, 'k')], 1024);
  t.equal(await watch.replaced(credentialHash(['CERT', 'KEY'])), false);
  writeFileSync(join(dir, 'k'), 'KEY2');
  t.equal(await watch.replaced(credentialHash(['CERT', 'KEY'])), true);
  t.not(credentialHash(['CERT', 'KEY']), credentialHash(['KEY', 'CERT']));
});

t.test('config: jwt and cert methods', async (t) => {
  const problems = (auth: Record<string, unknown>, address = 'https://vault:8200'): string[] => {
    const r = providerConfigSchema.safeParse({ type: 'vault', address, auth });
    return r.success ? [] : issueLines(r.error, ['providers', 'vault']);
  };
  t.same(problems({ method: 'jwt', role: 'erlmcp', jwtFile: '/var/run/secrets/vault/token' }), []);
  const jwt = providerConfigSchema.parse({ type: 'vault', address: 'https://v', auth: { method: 'jwt', role: 'r', jwtFile: 'f' } });
  t.equal(jwt.auth.method === 'jwt' && jwt.auth.mount, 'jwt', 'mount defaults to jwt');
  t.match(problems({ method: 'jwt', jwtFile: 'f' }).join('\n'), 'auth.role');
  t.match(problems({ method: 'jwt', role: 'r' }).join('\n'), 'auth.jwtFile');
  t.match(problems({ method: 'jwt', role: 'r', jwtFile: 'f', checkInterval: '0s' }).join('\n'), 'must be a duration');
  const cert = providerConfigSchema.parse({ type: 'vault', address: 'https://v', auth: { method: 'cert', certFile: 'c', keyFile: 'k' } });
  t.equal(cert.auth.method === 'cert' && cert.auth.mount, 'cert', 'mount defaults to cert');
  t.match(problems({ method: 'cert', certFile: 'c' }).join('\n'), 'auth.keyFile');
  t.match(problems({ method: 'cert', certFile: 'c', keyFile: 'k' }, 'http://vault:8200').join('\n'), 'address must be an https:// URL');
  t.match(problems({ method: 'oidc' }).join('\n'), 'must be one of token, kubernetes, approle, jwt, cert');
});
