// The pure halves of the vault provider: telling KV v1, KV v2 and leased
// answers apart by shape, deriving metadata paths, and quoting Vault's errors
// safely.

import t from 'tap';
import { isLeaseGone, kvV2PathSuggestion, vaultSays } from '../../agent/providers/vault/errors.ts';
import { kvV2MetadataPath, kvV2Tombstone, kvV2VersionState, toSecretValue } from '../../agent/providers/vault/response.ts';

const meta = (version: number, extra: Record<string, unknown> = {}) => ({ created_time: '2026-01-01T00:00:00Z', deletion_time: '', destroyed: false, version, ...extra });

t.test('response shapes', async (t) => {
  t.same(toSecretValue({ data: { data: { a: 'x' }, metadata: meta(4) } }, 1), { data: { a: 'x' }, version: '4' }, 'KV v2');
  t.same(toSecretValue({ data: { a: 'x', b: 2 }, lease_id: '', lease_duration: 2764800 }, 1), { data: { a: 'x', b: '2' } }, 'KV v1: lease_duration without lease_id is no lease');
  t.same(
    toSecretValue({ data: { username: 'u', password: 'p' }, lease_id: 'database/creds/r/abc', lease_duration: 60, renewable: true }, 1234),
    { data: { username: 'u', password: 'p' }, lease: { id: 'database/creds/r/abc', ttlSeconds: 60, renewable: true, obtainedAt: 1234 } },
    'dynamic',
  );
  t.same(
    toSecretValue({ data: { data: 'not-an-object', metadata: { note: 'kv1 keys that look like v2' } } }, 1),
    { data: { data: 'not-an-object', metadata: '{"note":"kv1 keys that look like v2"}' } },
    'a KV v1 secret with keys named data and metadata stays KV v1',
  );
  t.equal(toSecretValue({ data: null }, 1), undefined);
  t.equal(toSecretValue(undefined, 1), undefined);
});

t.test('KV v2 tombstones and version state', async (t) => {
  t.same(kvV2Tombstone({ data: { data: null, metadata: meta(3, { deletion_time: '2026-02-02T00:00:00Z' }) } }), { version: 3, deletionTime: '2026-02-02T00:00:00Z', destroyed: false });
  t.same(kvV2Tombstone({ data: { data: null, metadata: meta(3, { destroyed: true }) } }), { version: 3, deletionTime: '', destroyed: true });
  t.equal(kvV2Tombstone({ data: { data: { a: 'b' }, metadata: meta(3) } }), undefined, 'a live version');
  t.equal(kvV2Tombstone({ errors: [] }), undefined, 'a plain 404');
  const now = Date.parse('2026-06-01T00:00:00Z');
  const state = kvV2VersionState(
    {
      data: {
        current_version: 5,
        versions: {
          '1': { deletion_time: 'x', destroyed: false },
          '2': { deletion_time: '', destroyed: true },
          '3': { deletion_time: '', destroyed: false },
          '4': { deletion_time: '2026-05-31T23:59:59Z', destroyed: false },
          // delete_version_after: a live version's deletion time lies ahead
          '5': { deletion_time: '2026-06-01T01:00:00Z', destroyed: false },
        },
      },
    },
    now,
  )!;
  t.same(
    [state.currentVersion, state.gone(1), state.gone(2), state.gone(3), state.gone(4), state.gone(5), state.gone(9)],
    [5, true, true, false, true, false, true],
    'unparsable or past deletion_time: deleted; future: live',
  );
});

t.test('metadata paths', async (t) => {
  t.equal(kvV2MetadataPath('secret/data/app/db'), 'secret/metadata/app/db');
  t.equal(kvV2MetadataPath('team/kv/data/x'), 'team/kv/metadata/x', 'a mount with a slash');
  t.equal(kvV2MetadataPath('data/data/x'), 'data/metadata/x', 'a mount named data');
  t.equal(kvV2MetadataPath('secret/data'), undefined);
  t.equal(kvV2MetadataPath('kv/app'), undefined);
  t.equal(kvV2PathSuggestion('secret/app/db'), 'secret/data/app/db');
});

t.test('a 400 on lease renewal: gone by Vault\'s own texts (or no text), a plugin failure otherwise', async (t) => {
  for (const text of ['lease not found', 'lease expired', 'lease is not renewable', 'invalid lease']) t.ok(isLeaseGone({ errors: [text] }), text);
  t.ok(isLeaseGone({ errors: [] }), 'no text: gone, as the status alone always said');
  t.ok(isLeaseGone(undefined));
  t.notOk(isLeaseGone({ errors: ['failed to renew entry: resp: (*logical.Response)(nil) err: 1 error occurred:\n\t* failed to connect to `user=x database=postgres`: dial error\n\n'] }), 'a plugin failure');
});

t.test("quoting Vault's errors", async (t) => {
  t.equal(vaultSays({ errors: ['1 error occurred:\n\t* permission denied\n\n'] }, []), 'permission denied');
  t.equal(vaultSays({ errors: ['2 errors occurred:\n\t* one\n\t* two\n\n'] }, []), 'one; two');
  t.equal(vaultSays({ errors: ['invalid secret_id "s3cr3t-id"', 'x'] }, ['s3cr3t-id']), 'invalid secret_id "[REDACTED]"; x');
  t.equal(vaultSays({ errors: [] }, []), '');
  t.equal(vaultSays('<html>', []), '');
  t.equal(vaultSays({ errors: ['y'.repeat(400)] }, []).length, 303);
});
