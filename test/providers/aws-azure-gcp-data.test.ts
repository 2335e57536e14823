// The pure pieces of the cloud providers: how a stored value becomes the
// key map templates see, and how names and versions are read.

import t from 'tap';
import { secretBinaryToData, secretStringToData } from '../../agent/providers/aws/secret-data.ts';
import { isJsonContentType, secretValueToData, versionFromId } from '../../agent/providers/azure/secret-data.ts';
import { payloadToData } from '../../agent/providers/gcp/payload.ts';
import { parseSecretVersionName, secretVersionName } from '../../agent/providers/gcp/resource-names.ts';

t.test('aws: SecretString', async (t) => {
  t.same(secretStringToData('  {"a":"1","b":null,"c":[1,2],"d":false}'), { a: '1', b: 'null', c: '[1,2]', d: 'false' }, 'leading space, null, array, boolean');
  t.same(secretStringToData('{not json'), { value: '{not json' }, 'looks like JSON but is not: kept whole');
  t.same(secretStringToData('"quoted"'), { value: '"quoted"' }, 'a JSON string is not an object');
  t.same(secretStringToData('null'), { value: 'null' });
  t.same(secretStringToData(''), { value: '' });
  t.same(secretStringToData('{}'), {}, 'an empty object has no keys');
  t.same(secretStringToData('pa\nss "word"'), { value: 'pa\nss "word"' }, 'bytes exactly as stored');
});

t.test('aws: SecretBinary is base64 of exactly its bytes (a view into a larger buffer too)', async (t) => {
  const big = new Uint8Array([9, 9, 1, 2, 3, 9]);
  t.same(secretBinaryToData(big.subarray(2, 5)), { value: Buffer.from([1, 2, 3]).toString('base64') });
  t.same(secretBinaryToData(new Uint8Array()), { value: '' });
});

t.test('azure: JSON content types', async (t) => {
  for (const ct of ['application/json', 'Application/JSON', 'application/json; charset=utf-8', ' application/json ']) t.ok(isJsonContentType(ct), ct);
  for (const ct of [undefined, '', 'text/plain', 'application/jsonx', 'application/x-pkcs12', 'application/json-patch+json']) t.notOk(isJsonContentType(ct), String(ct));
  t.same(secretValueToData('{"a":1}', { contentType: 'application/json' }), { ok: true, data: { a: '1' } });
  t.same(secretValueToData('{"a":1}', { contentType: 'text/plain' }), { ok: true, data: { value: '{"a":1}' } });
  t.same(secretValueToData('[1]', { json: true }), { ok: false, problem: 'not-json-object' });
  t.same(secretValueToData('nope', { contentType: 'application/json' }), { ok: false, problem: 'not-json-object' });
});

t.test('azure: version is the last segment of the secret id', async (t) => {
  t.equal(versionFromId('https://erlmcp.vault.azure.net/secrets/db/4387e9f3d6e14c459867679a90fd0f79'), '4387e9f3d6e14c459867679a90fd0f79');
  t.equal(versionFromId('https://localhost:8443/secrets/db/abc/'), 'abc');
  t.equal(versionFromId('https://erlmcp.vault.azure.net/secrets/db'), undefined, 'no version segment');
  t.equal(versionFromId(undefined), undefined);
});

t.test('gcp: payloads', async (t) => {
  t.same(payloadToData(Buffer.from('{"u":"x","n":2}'), { json: true }), { ok: true, data: { u: 'x', n: '2' } });
  t.same(payloadToData(Buffer.from('{"u":"x"}'), {}), { ok: true, data: { value: '{"u":"x"}' } });
  t.same(payloadToData(Buffer.from([0xc3, 0x28]), {}), { ok: false, problem: 'not-utf8' }, 'invalid UTF-8 is refused, not mangled');
  t.same(payloadToData(Buffer.from([0xc3, 0x28]), { encoding: 'base64' }), { ok: true, data: { value: 'wyg=' } });
  t.same(payloadToData(Buffer.from('héllo ✓'), {}), { ok: true, data: { value: 'héllo ✓' } });
  t.same(payloadToData(Buffer.from('[1]'), { json: true }), { ok: false, problem: 'not-json-object' });
});

t.test('gcp: resource names', async (t) => {
  t.equal(secretVersionName('p', 'db', 'latest'), 'projects/p/secrets/db/versions/latest');
  t.equal(secretVersionName('p', 'projects/other/secrets/db', '3'), 'projects/other/secrets/db/versions/3', 'a full path keeps its own project');
  t.same(parseSecretVersionName('projects/804519340372/secrets/db/versions/12'), { project: '804519340372', secret: 'db', version: '12' });
  t.equal(parseSecretVersionName('projects/p/secrets/db'), undefined);
});
