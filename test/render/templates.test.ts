// The shipped templates in templates/: each renders with sample secrets
// (hostile ones included) and the result is read back by its real consumer.
// templates/README.md is checked against the templates themselves.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dotenv from 'dotenv';
import { inferEscape, parseTemplate, renderTemplate, templateWarnings, type SecretData } from '../../agent/render/index.ts';
import type { Escape } from '../../agent/config/schema.ts';
import { AgentError } from '../../agent/errors.ts';
import { consultErlang } from '../helpers/erlang-consult.ts';

const TEMPLATES = join(import.meta.dirname, '..', '..', 'templates');

// What templates/README.md promises for each template: the escape to use and
// the destination it suggests.
const SHIPPED: Record<string, { escape: Escape; destination: string }> = {
  'erlmcp.env.mustache': { escape: 'dotenv', destination: '/run/secrets/erlmcp/erlmcp.env' },
  'sys.config.mustache': { escape: 'erlang', destination: '/run/secrets/erlmcp/secrets.config' },
  'vm.args.mustache': { escape: 'none', destination: '/run/secrets/erlmcp/vm.args' },
  'erlang.cookie.mustache': { escape: 'none', destination: '/run/secrets/erlmcp/erlang.cookie' },
};

const COOKIE = 'CANARYcookie+Zm9vYmFy/YmF6=_-q8Xr2LkWm';
const DATA: SecretData = {
  db: {
    host: 'postgres-service.erlmcp.svc.cluster.local',
    port: '5432',
    database: 'erlmcp',
    username: 'erlmcp',
    password: `CANARY-db'pa"ss$HOME#\\n x`,
  },
  cookie: { value: COOKIE },
  jwt: { secret: 'CANARY-jwt/k9Q2+vZ8w3Lr0Tq7Yh1Ns6Mc4Xe5Ba8Pd2Fg0Jk3Hl9Rt7Uy1Io4Wz6Sx+Vb5==' },
  redis: { host: 'redis-service.erlmcp.svc.cluster.local', port: '6379', password: 'CANARY-r€dis pass 🔑 `x` \t$(id)' },
};

function load(name: string) {
  return parseTemplate(readFileSync(join(TEMPLATES, name), 'utf8'), `templates/${name}`);
}

function renderShipped(name: string, data: SecretData = DATA): string {
  const shipped = SHIPPED[name];
  if (!shipped) throw new Error(`unknown template ${name}`);
  return renderTemplate(load(name), data, shipped.escape);
}

t.test('every template in templates/ is one this test knows, parses, and draws no warning', async (t) => {
  const files = readdirSync(TEMPLATES).filter((f) => f.endsWith('.mustache')).sort();
  t.same(files, Object.keys(SHIPPED).sort());
  for (const [name, { escape, destination }] of Object.entries(SHIPPED)) {
    t.same(templateWarnings(load(name), escape), [], `${name}: no warnings`);
    t.equal(inferEscape(destination), escape, `${name}: the suggested destination infers escape ${escape}`);
  }
});

t.test('erlmcp.env: dotenv gives back every ERLMCP_* value exactly', async (t) => {
  const text = renderShipped('erlmcp.env.mustache');
  t.match(text, /^# Written by erlmcp-secrets/, 'the template note is not in the output');
  const expected = {
    ERLMCP_JWT_SECRET: DATA.jwt?.secret,
    ERLMCP_COOKIE: COOKIE,
    ERLMCP_DB_HOST: DATA.db?.host,
    ERLMCP_DB_PORT: '5432',
    ERLMCP_DB_NAME: 'erlmcp',
    ERLMCP_DB_USER: 'erlmcp',
    ERLMCP_DB_PASSWORD: DATA.db?.password,
    ERLMCP_REDIS_HOST: DATA.redis?.host,
    ERLMCP_REDIS_PORT: '6379',
    ERLMCP_REDIS_PASSWORD: DATA.redis?.password,
  };
  t.same(dotenv.parse(text), expected);
  t.same(dotenv.parse(text, { fast: true }), expected);
  t.notMatch(text, 'DB_URL=', 'no URL with an unencoded password');
});

t.test('erlmcp.env: without a redis secret, all three redis lines are reported at once', async (t) => {
  const { redis: _redis, ...noRedis } = DATA;
  let err: unknown;
  try {
    renderShipped('erlmcp.env.mustache', noRedis);
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof AgentError);
  t.same((err as AgentError).problems, [
    'templates/erlmcp.env.mustache: {{redis.host}} at line 18: no secret "redis" (secrets: cookie, db, jwt)',
    'templates/erlmcp.env.mustache: {{redis.port}} at line 19: no secret "redis" (secrets: cookie, db, jwt)',
    'templates/erlmcp.env.mustache: {{redis.password}} at line 20: no secret "redis" (secrets: cookie, db, jwt)',
  ]);
});

t.test('sys.config: a real erl file:consult/1 reads the erlmcp settings as binaries', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'secrets.config');
  writeFileSync(file, renderShipped('sys.config.mustache'));
  const bin = (s: string | undefined) => Buffer.from(s ?? '', 'utf8');
  const atom = (a: string) => ({ atom: a });
  const map = (entries: Array<[string, string | undefined]>) => ({ map: entries.map(([k, v]) => [atom(k), bin(v)]).sort((a, b) => String((a[0] as { atom: string }).atom).localeCompare((b[0] as { atom: string }).atom)) });
  t.same(consultErlang(file), [
    [
      {
        tuple: [
          atom('erlmcp'),
          [
            { tuple: [atom('database'), map([['host', DATA.db?.host], ['port', '5432'], ['database', 'erlmcp'], ['username', 'erlmcp'], ['password', DATA.db?.password]])] },
            { tuple: [atom('redis'), map([['host', DATA.redis?.host], ['port', '6379'], ['password', DATA.redis?.password]])] },
            { tuple: [atom('jwt_secret'), bin(DATA.jwt?.secret)] },
          ],
        ],
      },
    ],
  ]);
});

t.test('vm.args: erl -args_file reads the cookie exactly', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'vm.args');
  writeFileSync(file, renderShipped('vm.args.mustache'));
  const out = execFileSync('erl', ['-args_file', file, '-noshell', '-eval', '{ok, [[C]]} = init:get_argument(setcookie), io:put_chars(C), halt().'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(out, COOKIE);
});

t.test('erlang.cookie: exactly the cookie, no trailing newline', async (t) => {
  const text = renderShipped('erlang.cookie.mustache');
  t.equal(text, COOKIE);
  t.notOk(text.endsWith('\n'));
});

t.test('templates/README.md lists every template with its escape and every secret.key it uses', async (t) => {
  const readme = readFileSync(join(TEMPLATES, 'README.md'), 'utf8');
  for (const [name, { escape, destination }] of Object.entries(SHIPPED)) {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`templates/${name}\``));
    if (!row) {
      t.fail(`${name} is not in the README table`);
      continue;
    }
    t.match(row, `| \`${escape}\` |`, `${name}: escape ${escape}`);
    t.match(row, `\`${destination}\``, `${name}: destination`);
    for (const r of load(name).references) t.match(row, `\`${r.secret}.${r.key}\``, `${name}: lists ${r.secret}.${r.key}`);
    t.match(readme, `source: templates/${name}\n    destination: ${destination}\n    escape: ${escape}\n`, `${name}: in the sample agent.yaml`);
  }
});
