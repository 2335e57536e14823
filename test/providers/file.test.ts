import t from 'tap';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { AgentError } from '../../agent/errors.ts';
import { create } from '../../agent/providers/file/provider.ts';
import { silentLogger } from '../../agent/log/logger.ts';
import { fixture, fetchSecret, kubeletSecret, ref } from '../helpers/file-provider-fixture.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { bundleForOtherUser } from '../helpers/other-user-bundle.ts';

async function failure(promise: Promise<unknown>): Promise<AgentError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof AgentError) return e;
    throw e;
  }
  throw new Error('expected an AgentError, got a value');
}

t.test('a directory of files is a secret: file name = key, content = value (minus one trailing line break)', async (t) => {
  const f = fixture(t);
  f.write('dev-secrets/db/password', 'CanaryDbPw-7Kq2\n');
  f.write('dev-secrets/db/username', 'erlmcp');
  f.write('dev-secrets/db/.gitkeep', '');
  f.write('dev-secrets/db/nested/ignored', 'CanaryNested-1');
  const p = await f.provider('./dev-secrets');
  const v = await fetchSecret(p, 'db');
  t.same(v.data, { password: 'CanaryDbPw-7Kq2', username: 'erlmcp' }, 'dotfiles and subdirectories are ignored; one trailing line break trimmed');
  t.match(v.version, /^[0-9a-f]{12}$/);
  t.equal(p.describe(ref('db')), 'file ./dev-secrets/db');
  t.equal(p.type, 'file');
  t.equal(p.name, 'local');
});

t.test('a mounted Kubernetes Secret: kubelet symlink layout is followed, its .. entries ignored', async (t) => {
  const f = fixture(t);
  const secretDir = join(f.dir, 'mnt', 'db');
  kubeletSecret(secretDir, '2026_11_29_06_00_00.123456789', { password: 'CanaryK8sPw-Zz9', username: 'erlmcp', 'tls.crt': 'not-a-cert' });
  // a key removed by an update leaves a dangling link for a moment: not a key
  symlinkSync('..data/gone', join(secretDir, 'gone'));
  const p = await f.provider('mnt');
  t.same((await fetchSecret(p, 'db')).data, { password: 'CanaryK8sPw-Zz9', 'tls.crt': 'not-a-cert', username: 'erlmcp' });
});

t.test('the provider path itself may be a mounted Secret: each key is a plain-file secret', async (t) => {
  const f = fixture(t);
  kubeletSecret(join(f.dir, 'cookie-mount'), '2026_11_29_06_00_00.1', { cookie: 'CanaryCookie-Q1w2E3r4\n' });
  const p = await f.provider('cookie-mount');
  t.same((await fetchSecret(p, 'cookie')).data, { value: 'CanaryCookie-Q1w2E3r4' });
});

t.test('db.json: a flat map; numbers keep their text, null is empty, nested values become JSON', async (t) => {
  const f = fixture(t);
  f.write('s/db.json', JSON.stringify({ password: 'CanaryJson-Pw1', port: 5432 }).replace('5432', '5432, "id": 12345678901234567890, "ratio": 1e3, "ssl": true, "ca": null, "pool": {"size": 10, "tags": ["a", "b"]}'));
  const p = await f.provider('s');
  t.same((await fetchSecret(p, 'db')).data, {
    password: 'CanaryJson-Pw1',
    port: '5432',
    id: '12345678901234567890',
    ratio: '1e3',
    ssl: 'true',
    ca: '',
    pool: '{"size":10,"tags":["a","b"]}',
  });
});

t.test('db.yaml and db.yml: plain scalars keep their text, quoted and block strings as YAML says', async (t) => {
  const f = fixture(t);
  const yaml = [
    'pin: 012345',
    'enabled: true',
    'ratio: 1e3',
    'empty:',
    'tilde: ~',
    'quoted: "Canary\\tYaml: #1"',
    'single: \'it\'\'s # not a comment\'',
    'block: |',
    '  -----BEGIN CANARY-----',
    '  CanaryBlockLine',
    'pool: { size: 10, name: main }',
    'hosts: [a, b]',
    'anchor: &x shared',
    'alias: *x',
    '',
  ].join('\n');
  f.write('s/app.yaml', yaml);
  f.write('s/other.yml', 'password: CanaryYml-22\n');
  const p = await f.provider('s');
  t.same((await fetchSecret(p, 'app')).data, {
    pin: '012345',
    enabled: 'true',
    ratio: '1e3',
    empty: '',
    tilde: '',
    quoted: 'Canary\tYaml: #1',
    single: "it's # not a comment",
    block: '-----BEGIN CANARY-----\nCanaryBlockLine\n',
    pool: '{"size":10,"name":"main"}',
    hosts: '["a","b"]',
    anchor: 'shared',
    alias: 'shared',
  });
  t.same((await fetchSecret(p, 'other')).data, { password: 'CanaryYml-22' });
});

t.test('db.env: parsed by dotenv, hostile values survive when quoted', async (t) => {
  const f = fixture(t);
  const env = [
    '# database',
    'PASSWORD="Canary#Pw=1\'x"',
    "SINGLE='Canary \"double\" # hash'",
    'EQUALS=Canary=a=b',
    'UNQUOTED_HASH=Canary#cut',
    'SPACED=  Canary spaced  ',
    'export EXPORTED=CanaryExport',
    'MULTI="line1\\nline2"',
    'EMPTY=',
    '',
  ].join('\n');
  f.write('s/db.env', env);
  const p = await f.provider('s');
  t.same((await fetchSecret(p, 'db')).data, {
    PASSWORD: "Canary#Pw=1'x",
    SINGLE: 'Canary "double" # hash',
    EQUALS: 'Canary=a=b',
    UNQUOTED_HASH: 'Canary', // dotenv: an unquoted # starts a comment; quote such values
    SPACED: 'Canary spaced',
    EXPORTED: 'CanaryExport',
    MULTI: 'line1\nline2',
    EMPTY: '',
  });
});

t.test('a key named __proto__ is an ordinary key in JSON and YAML', async (t) => {
  const f = fixture(t);
  f.write('s/j.json', '{"__proto__": "CanaryProtoJson", "ok": "1"}');
  f.write('s/y.yaml', '__proto__: { polluted: yes }\nok: "1"\n');
  const p = await f.provider('s');
  const j = (await fetchSecret(p, 'j')).data;
  const y = (await fetchSecret(p, 'y')).data;
  t.same(Object.entries(j), [['__proto__', 'CanaryProtoJson'], ['ok', '1']]);
  t.same(Object.entries(y), [['__proto__', '{"polluted":"yes"}'], ['ok', '1']]);
  t.equal(Object.getPrototypeOf(y), Object.prototype);
  t.equal(({} as Record<string, unknown>).polluted, undefined);
});

t.test('a plain file is key "value", minus one trailing newline', async (t) => {
  const f = fixture(t);
  f.write('s/cookie', 'CanaryCookie-abc\n');
  f.write('s/two', 'CanaryTwo\n\n');
  f.write('s/crlf', 'CanaryCrlf\r\n');
  f.write('s/none', 'CanaryNone');
  f.write('s/bom', '\uFEFFCanaryBom');
  const p = await f.provider('s');
  t.same((await fetchSecret(p, 'cookie')).data, { value: 'CanaryCookie-abc' });
  t.same((await fetchSecret(p, 'two')).data, { value: 'CanaryTwo\n' }, 'only one newline is stripped');
  t.same((await fetchSecret(p, 'crlf')).data, { value: 'CanaryCrlf' });
  t.same((await fetchSecret(p, 'none')).data, { value: 'CanaryNone' });
  t.same((await fetchSecret(p, 'bom')).data, { value: '\uFEFFCanaryBom' }, 'bytes are bytes: a BOM in a value file stays');
});

t.test('candidate order: db/, db.json, db.yaml, db.yml, db.env, db', async (t) => {
  const f = fixture(t);
  f.write('s/a/k', 'from-dir');
  f.write('s/a.json', '{"k":"from-json"}');
  f.write('s/b.json', '{"k":"from-json"}');
  f.write('s/b.yaml', 'k: from-yaml');
  f.write('s/c.yml', 'k: from-yml');
  f.write('s/c.env', 'k=from-env');
  f.write('s/d.env', 'k=from-env');
  f.write('s/d', 'from-plain');
  const p = await f.provider('s');
  t.same((await fetchSecret(p, 'a')).data, { k: 'from-dir' });
  t.same((await fetchSecret(p, 'b')).data, { k: 'from-json' });
  t.same((await fetchSecret(p, 'c')).data, { k: 'from-yml' });
  t.same((await fetchSecret(p, 'd')).data, { k: 'from-env' });
});

t.test('spec.path names the entry, or a structured file directly', async (t) => {
  const f = fixture(t);
  f.write('s/team/db/password', 'CanaryTeam-1');
  f.write('s/shared/app.yaml', 'token: CanaryShared-2\n');
  const p = await f.provider('s');
  t.same((await fetchSecret(p, 'db', { path: 'team/db' })).data, { password: 'CanaryTeam-1' });
  t.same((await fetchSecret(p, 'app', { path: 'shared/app.yaml' })).data, { token: 'CanaryShared-2' });
  t.equal(p.describe(ref('db', { path: 'team/db' })), 'file s/team/db');
});

t.test('a single YAML/JSON file: the map under select (dotted) or the secret name', async (t) => {
  const f = fixture(t);
  f.write('secrets.yaml', ['db:', '  password: CanaryTop-1', 'erlmcp:', '  db:', '    password: CanaryNested-2', '    port: 05432', '  name: plain', ''].join('\n'));
  f.write('secrets.json', '{"db": {"password": "CanaryJsonTop-3"}, "erlmcp": {"db": {"password": "CanaryJsonNested-4"}}}');
  const y = await f.provider('./secrets.yaml');
  t.same((await fetchSecret(y, 'db')).data, { password: 'CanaryTop-1' });
  t.same((await fetchSecret(y, 'db', { select: 'erlmcp.db' })).data, { password: 'CanaryNested-2', port: '05432' });
  t.equal(y.describe(ref('db', { select: 'erlmcp.db' })), 'file ./secrets.yaml at "erlmcp.db"');
  const j = await f.provider(join(f.dir, 'secrets.json'));
  t.same((await fetchSecret(j, 'other', { select: 'erlmcp.db' })).data, { password: 'CanaryJsonNested-4' });
});

t.test('a single .env file: every secret sees all of its keys', async (t) => {
  const f = fixture(t);
  f.write('.env', 'DB_PASSWORD="CanaryEnv#1"\nERLANG_COOKIE=CanaryEnvCookie\n');
  const p = await f.provider('.env');
  t.same((await fetchSecret(p, 'db')).data, { DB_PASSWORD: 'CanaryEnv#1', ERLANG_COOKIE: 'CanaryEnvCookie' });
  t.same((await fetchSecret(p, 'cookie')).data, { DB_PASSWORD: 'CanaryEnv#1', ERLANG_COOKIE: 'CanaryEnvCookie' });
  t.equal(p.describe(ref('db')), 'file .env');
});

t.test('version is a content hash: equal content, equal version; changed() compares', async (t) => {
  const f = fixture(t);
  f.write('s/a/k', 'CanarySame');
  f.write('s/b.json', '{"k": "CanarySame"}');
  f.write('s/c/k', 'CanaryOther');
  const p = await f.provider('s');
  const a = await fetchSecret(p, 'a');
  const b = await fetchSecret(p, 'b');
  const c = await fetchSecret(p, 'c');
  t.equal(a.version, b.version, 'same keys and values, different layouts: same version');
  t.not(a.version, c.version);
  t.equal(await p.changed(ref('a'), a, new AbortController().signal), false);
  f.write('s/a/k', 'CanaryChanged');
  t.equal(await p.changed(ref('a'), a, new AbortController().signal), true);
  t.notMatch(a.version, /Canary/);
});

t.test('errors: exact messages, codes, and never a value', async (t) => {
  const f = fixture(t);
  const canaries = ['CanaryErrPw-9x8y', 'CanaryYamlErr-77', 'CanaryAlias-55', 'CanaryDup-33'];
  f.write('dev-secrets/broken.json', '{\n  "password": "CanaryErrPw-9x8y",\n  "user": CanaryErrPw-9x8y\n}\n');
  f.write('dev-secrets/truncated.json', '{"password": "CanaryErrPw-9x8y",');
  f.write('dev-secrets/list.json', '["CanaryErrPw-9x8y"]');
  f.write('dev-secrets/broken.yaml', 'password: "CanaryYamlErr-77\nuser: x\n');
  f.write('dev-secrets/indent.yaml', 'password: CanaryYamlErr-77\n  user: x\n');
  f.write('dev-secrets/dup.yaml', 'password: CanaryDup-33\npassword: CanaryDup-33\n');
  f.write('dev-secrets/bomb.yaml', ['a: &a [CanaryAlias-55, CanaryAlias-55, CanaryAlias-55, CanaryAlias-55]',
    'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
    'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]', 'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]', ''].join('\n'));
  f.write('dev-secrets/binary/key', Buffer.from([0x43, 0x61, 0x6e, 0xff, 0xfe, 0x00, 0x41]));
  f.write('dev-secrets/binary.json', Buffer.concat([Buffer.from('{"password": "CanaryErrPw-9x8y'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]));
  f.write('dev-secrets/text.txt', 'CanaryErrPw-9x8y');
  f.write('secrets.yaml', 'db:\n  password: CanaryErrPw-9x8y\nerlmcp:\n  name: CanaryErrPw-9x8y\n');
  f.write('list.yaml', '- CanaryErrPw-9x8y\n');
  f.write('secrets.env', 'A=CanaryErrPw-9x8y\n');
  f.write('notes.txt', 'CanaryErrPw-9x8y');
  const dir = await f.provider('./dev-secrets');
  const file = await f.provider('secrets.yaml');
  const list = await f.provider('list.yaml');
  const env = await f.provider('secrets.env');
  const abs = (rel: string) => join(f.dir, rel);

  const cases: Array<[string, () => Promise<unknown>, string, string, string | undefined]> = [
    ['nothing there', () => fetchSecret(dir, 'db'), 'missing',
      'no secret "db" under ./dev-secrets: tried db/, db.json, db.yaml, db.yml, db.env, db', abs('dev-secrets')],
    ['spec.path with an extension', () => fetchSecret(dir, 'app', { path: 'shared/app.json' }), 'missing',
      'no secret "app" under ./dev-secrets: tried shared/app.json', abs('dev-secrets')],
    ['spec.path file that is a directory', () => fetchSecret(dir, 'bin', { path: 'binary' }), 'validation',
      './dev-secrets/binary/key is not valid UTF-8 text; store binary values base64-encoded', abs('dev-secrets/binary/key')],
    ['malformed JSON', () => fetchSecret(dir, 'broken'), 'validation',
      './dev-secrets/broken.json is not valid JSON (line 3, column 11); fix the file, the agent reads it again on the next refresh', abs('dev-secrets/broken.json')],
    ['truncated JSON', () => fetchSecret(dir, 'truncated'), 'validation',
      './dev-secrets/truncated.json is not valid JSON (it ends too early); fix the file, the agent reads it again on the next refresh', abs('dev-secrets/truncated.json')],
    ['JSON list at the top', () => fetchSecret(dir, 'list'), 'validation',
      './dev-secrets/list.json must be a map of key -> value, but it is a list', abs('dev-secrets/list.json')],
    ['bad YAML indentation', () => fetchSecret(dir, 'indent'), 'validation',
      './dev-secrets/indent.yaml is not valid YAML (line 1, column 11: BLOCK_AS_IMPLICIT_KEY); fix the file, the agent reads it again on the next refresh', abs('dev-secrets/indent.yaml')],
    ['duplicate YAML key', () => fetchSecret(dir, 'dup'), 'validation',
      './dev-secrets/dup.yaml is not valid YAML (line 2, column 1: DUPLICATE_KEY); fix the file, the agent reads it again on the next refresh', abs('dev-secrets/dup.yaml')],
    ['YAML alias bomb', () => fetchSecret(dir, 'bomb'), 'validation',
      './dev-secrets/bomb.yaml is not valid YAML (more than 1000 alias expansions); fix the file, the agent reads it again on the next refresh', abs('dev-secrets/bomb.yaml')],
    ['not UTF-8 (key file)', () => fetchSecret(dir, 'binary'), 'validation',
      './dev-secrets/binary/key is not valid UTF-8 text; store binary values base64-encoded', abs('dev-secrets/binary/key')],
    ['select on a directory provider', () => fetchSecret(dir, 'db', { select: 'x' }), 'config',
      'secrets.db.select: provider "local" reads a directory (./dev-secrets); use `path` to name the entry under it', 'secrets.db.select'],
    ['unknown spec field', () => fetchSecret(dir, 'db', { pth: 'x' }), 'config',
      'secrets.db: a file secret takes only `path` (directory provider), `select` (single-file provider) and `trim` (true or false)', 'secrets.db'],
    ['missing top-level key', () => fetchSecret(file, 'cache'), 'missing',
      'no secret "cache" in secrets.yaml: it has no key "cache" (top-level keys: db, erlmcp)', abs('secrets.yaml')],
    ['missing nested key', () => fetchSecret(file, 'db', { select: 'erlmcp.db' }), 'missing',
      'no secret "db" in secrets.yaml: it has no key "erlmcp.db" (top-level keys: db, erlmcp)', abs('secrets.yaml')],
    ['select reaches a string', () => fetchSecret(file, 'x', { select: 'erlmcp.name' }), 'validation',
      '"erlmcp.name" in secrets.yaml must be a map of key -> value, but it is a string', abs('secrets.yaml')],
    ['select goes through a string', () => fetchSecret(file, 'x', { select: 'erlmcp.name.deeper' }), 'validation',
      '"erlmcp.name" in secrets.yaml must be a map of key -> value, but it is a string', abs('secrets.yaml')],
    ['path on a single-file provider', () => fetchSecret(file, 'db', { path: 'db' }), 'config',
      'secrets.db.path: provider "local" reads a single file (secrets.yaml); use `select` to pick the map inside it', 'secrets.db.path'],
    ['file is a list', () => fetchSecret(list, 'db'), 'validation', 'list.yaml must be a map of key -> value, but it is a list', abs('list.yaml')],
    ['select on an .env provider', () => fetchSecret(env, 'db', { select: 'a' }), 'config',
      'secrets.db.select: provider "local" reads an .env file, which has no nesting (secrets.env); every secret sees all its keys; drop `select`', 'secrets.db.select'],
    ['provider path missing', () => f.provider('./nowhere'), 'config',
      `providers.local.path: ./nowhere does not exist (resolved to ${abs('nowhere')}); create it or fix the path`, 'providers.local.path'],
    ['provider path of another type', () => f.provider('notes.txt'), 'config',
      'providers.local.path: notes.txt is neither a directory nor a .json/.yaml/.yml/.env file', 'providers.local.path'],
    ['bad provider config', () => create('local', { type: 'file' }, { logger: silentLogger(), baseDir: f.dir, now: Date.now }), 'config',
      'providers.local: a file provider needs { type: file, path: <directory or .json/.yaml/.yml/.env file> }', 'providers.local'],
  ];
  const messages: string[] = [];
  for (const [label, promise, code, message, where] of cases) {
    const e = await failure(promise());
    messages.push(e.message, ...e.problems, String(e.where));
    t.equal(e.code, code, `${label}: code`);
    t.equal(e.message, message, `${label}: message`);
    t.equal(e.where, where, `${label}: where`);
    t.equal(e.cause, undefined, `${label}: no foreign error (which may quote content) is attached`);
  }
  const unterminated = await failure(fetchSecret(dir, 'x', { path: 'broken.yaml' }));
  t.equal(unterminated.message, './dev-secrets/broken.yaml is not valid YAML (line 3, column 1: MISSING_CHAR); fix the file, the agent reads it again on the next refresh');
  const nonUtf8Json = await failure(fetchSecret(dir, 'binary', { path: 'binary.json' }));
  t.equal(nonUtf8Json.message, './dev-secrets/binary.json is not valid UTF-8 text; store binary values base64-encoded');
  messages.push(unterminated.message, nonUtf8Json.message);
  assertNoLeak(t, [...messages, ...f.logs], canaries);
});

t.test('an aborted fetch is a timeout', async (t) => {
  const f = fixture(t);
  f.write('s/db/k', 'CanaryAbort');
  const p = await f.provider('s');
  const ac = new AbortController();
  ac.abort();
  const e = await failure(p.fetch(ref('db'), ac.signal));
  t.equal(e.code, 'timeout');
  t.equal(e.message, 'reading secret "db" from s was cancelled');
});

t.test('a file the agent may not read is an auth error (read as uid 65534)', { skip: process.getuid?.() !== 0 ? 'needs root to switch users' : false }, async (t) => {
  const f = fixture(t);
  f.write('s/db/password', 'CanaryEacces-41');
  f.write('s/db/username', 'erlmcp');
  execFileSync('chmod', ['000', join(f.dir, 's/db/password')]);
  mkdirSync(join(f.dir, 'locked'), { mode: 0o700 });
  writeFileSync(join(f.dir, 'locked', 'app.json'), '{"k":"CanaryEacces-41"}');
  const probe = join(f.dir, 'probe.ts');
  writeFileSync(probe, `
    import { create } from ${JSON.stringify(new URL('../../agent/providers/file/provider.ts', import.meta.url).pathname)};
    import { silentLogger } from ${JSON.stringify(new URL('../../agent/log/logger.ts', import.meta.url).pathname)};
    async function main() {
    const out = [];
    const p = await create('local', { type: 'file', path: 's' }, { logger: silentLogger(), baseDir: ${JSON.stringify(f.dir)}, now: Date.now });
    for (const name of ['db', 'x']) {
      try { await p.fetch({ name, spec: name === 'x' ? { path: 'locked/app.json' } : {} }, new AbortController().signal); out.push('fetched'); }
      catch (e) { out.push({ code: e.code, message: e.message }); }
    }
    try { await create('local', { type: 'file', path: 'locked/app.json' }, { logger: silentLogger(), baseDir: ${JSON.stringify(f.dir)}, now: Date.now }); out.push('created'); }
    catch (e) { out.push({ code: e.code, message: e.message }); }
    console.log(JSON.stringify(out));
    }
    void main();
  `);
  // s/locked -> ../locked: the 0700 dir reached through the provider directory
  symlinkSync(join(f.dir, 'locked'), join(f.dir, 's', 'locked'));
  // bundled next to a linked node: uid 65534 may not reach the checkout itself
  const program = await bundleForOtherUser(t, probe);
  const [command, ...args] = program.command;
  const stdout = execFileSync(command!, args, { uid: 65534, gid: 65534, cwd: '/', encoding: 'utf8', env: { PATH: process.env.PATH } });
  const hint = "make it readable by the agent's user (uid 65534), e.g. with the pod's fsGroup or defaultMode";
  t.same(JSON.parse(stdout), [
    { code: 'auth', message: `cannot read s/db/password: permission denied (EACCES); ${hint}` },
    { code: 'auth', message: `cannot read s/locked/app.json: permission denied (EACCES); ${hint}` },
    { code: 'auth', message: `cannot read locked/app.json: permission denied (EACCES); ${hint}` },
  ]);
  assertNoLeak(t, stdout, ['CanaryEacces-41']);
});
