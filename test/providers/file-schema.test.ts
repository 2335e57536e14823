import t from 'tap';
import { providerConfigSchema, secretSpecSchema } from '../../agent/providers/file/schema.ts';

t.test('provider config: type file and a non-empty path, nothing else', async (t) => {
  t.same(providerConfigSchema.parse({ type: 'file', path: './dev-secrets' }), { type: 'file', path: './dev-secrets' });
  for (const bad of [{ type: 'file' }, { type: 'file', path: '' }, { type: 'file', path: 'x', watch: true }, { type: 'vault', path: 'x' }]) {
    t.notOk(providerConfigSchema.safeParse(bad).success, JSON.stringify(bad));
  }
  const empty = providerConfigSchema.safeParse({ type: 'file', path: '' });
  t.equal(empty.error?.issues[0]?.message, 'give the directory or file that holds the secrets');
});

t.test('secret spec: relative path below the directory, dotted select', async (t) => {
  t.same(secretSpecSchema.parse({}), {});
  t.same(secretSpecSchema.parse({ path: 'team/db' }), { path: 'team/db' });
  t.same(secretSpecSchema.parse({ path: 'shared/app.yaml' }), { path: 'shared/app.yaml' });
  t.same(secretSpecSchema.parse({ select: 'erlmcp.db' }), { select: 'erlmcp.db' });
  const pathMessage = 'must be a relative path below the provider directory, without ".." or empty segments';
  for (const path of ['/etc/secrets/db', '../db', 'team/../../db', 'team//db', 'db/']) {
    const r = secretSpecSchema.safeParse({ path });
    t.equal(r.error?.issues[0]?.message, pathMessage, path);
  }
  for (const select of ['erlmcp..db', '.db', 'db.']) {
    const r = secretSpecSchema.safeParse({ select });
    t.equal(r.error?.issues[0]?.message, 'use dotted keys like "erlmcp.db", without empty parts', select);
  }
  t.notOk(secretSpecSchema.safeParse({ pth: 'db' }).success, 'unknown fields are typos');
});
