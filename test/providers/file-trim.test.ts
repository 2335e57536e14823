// Trailing line breaks: every one-value-per-file layout (a key file in a
// mounted-Secret directory, a plain file) drops one trailing line break by
// default, and keeps the bytes exactly with `trim: false`. The rules then see
// the bytes that will be rendered: `url` no longer accepts a newline the URL
// parser would have dropped, and hex/base64 refuse it.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, fetchSecret, kubeletSecret } from '../helpers/file-provider-fixture.ts';
import { checkUrl } from '../../agent/validate/text-formats.ts';
import { checkBase64, checkHex } from '../../agent/validate/encoding.ts';
import { runCli } from '../helpers/cli.ts';

t.test('the layouts agree: a key file and a plain file lose one trailing line break', async (t) => {
  const f = fixture(t);
  f.write('s/api/url', 'https://api.example.com\n');
  f.write('s/api/crlf', 'https://crlf.example.com\r\n');
  f.write('s/api/two', 'two\n\n');
  f.write('s/api/spaces', 'ends in spaces  ');
  f.write('s/api/none', 'https://none.example.com');
  f.write('s/plain', 'https://plain.example.com\n');
  kubeletSecret(join(f.dir, 's/mounted'), '2026_12_03_10_00_00.1', { url: 'https://mounted.example.com\n' });
  const p = await f.provider('s');
  t.same((await fetchSecret(p, 'api')).data, {
    crlf: 'https://crlf.example.com',
    none: 'https://none.example.com',
    spaces: 'ends in spaces  ',
    two: 'two\n',
    url: 'https://api.example.com',
  }, 'one \\n or \\r\\n, never more, never spaces');
  t.same((await fetchSecret(p, 'plain')).data, { value: 'https://plain.example.com' });
  t.same((await fetchSecret(p, 'mounted')).data, { url: 'https://mounted.example.com' }, 'kubelet layout too');
});

t.test('trim: false keeps the bytes exactly, in both layouts', async (t) => {
  const f = fixture(t);
  f.write('s/api/url', 'https://api.example.com\n');
  f.write('s/plain', 'value\r\n');
  const p = await f.provider('s');
  t.same((await fetchSecret(p, 'api', { trim: false })).data, { url: 'https://api.example.com\n' });
  t.same((await fetchSecret(p, 'plain', { trim: false })).data, { value: 'value\r\n' });
  const trimmed = await fetchSecret(p, 'api');
  const kept = await fetchSecret(p, 'api', { trim: false });
  t.not(trimmed.version, kept.version, 'the version follows the bytes served');
});

t.test('structured files are not trimmed: their syntax already says where a value ends', async (t) => {
  const f = fixture(t);
  f.write('s/tls.yaml', 'crt: |\n  -----BEGIN X-----\n  abc\n  -----END X-----\n');
  const p = await f.provider('s');
  t.equal((await fetchSecret(p, 'tls')).data.crt, '-----BEGIN X-----\nabc\n-----END X-----\n');
});

t.test('url, hex and base64 see the bytes as rendered: a line break or space fails them', async (t) => {
  for (const v of ['https://api.example.com\n', 'https://api.example.com\r\n', ' https://api.example.com', 'https://api.example.com ', 'https://api.exa\tmple.com', 'https://api.example.com\u2028']) {
    t.match(checkUrl(v), [{ rule: 'format', text: /contains whitespace or a control character/ }], JSON.stringify(v).replace(/\u2028/g, '\\u2028'));
  }
  t.same(checkUrl('https://api.example.com/x?y=1'), [], 'a clean URL passes');
  t.not(checkHex('00ff\n', {}).length, 0, 'hex with a newline fails');
  t.not(checkBase64('AAAA\n', {}).length, 0, 'base64 with a newline fails');
});

t.test('end to end: API_URL gets no newline by default; with trim: false the url rule stops init (exit 3)', async (t) => {
  const f = fixture(t);
  f.write('s/api/url', 'https://api.example.com\n');
  const cfg = (trim: string) =>
    f.write(
      'agent.yaml',
      `providers: { local: { type: file, path: ./s } }
secrets: { api: { provider: local, ${trim} require: { url: { format: url } } } }
output: { root: ./out }
templates: [ { contents: "API_URL={{api.url}}|", destination: api.env, escape: none } ]
`,
    );
  const ok = await runCli(['init', '-c', cfg('')]);
  t.equal(ok.code, 0, ok.stderr);
  t.equal(readFileSync(join(f.dir, 'out/api.env'), 'utf8'), 'API_URL=https://api.example.com|');
  const kept = await runCli(['init', '-c', cfg('trim: false,')]);
  t.equal(kept.code, 3, kept.stderr);
  t.match(kept.problems, [/api\.url: not a URL \(contains whitespace or a control character, such as a trailing newline\)/]);
});
