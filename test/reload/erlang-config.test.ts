// Config-time checks of `reload: [{type: erlang}]`: the cookie source, the
// call strings and `expect` are checked by loadConfig (exit 2 before any
// secret is fetched), and `check` warns about what works but is likely wrong.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfigText } from '../../agent/config/load.ts';
import { AgentError } from '../../agent/errors.ts';
import { lintConfig } from '../../agent/pipeline/lint.ts';
import { prepareTemplates } from '../../agent/pipeline/prepare-templates.ts';
import { runCli } from '../helpers/cli.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'erlang-config-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const BASE = `providers: { local: { type: file, path: ./secrets.json } }
secrets:
  cookie: { provider: local, require: { value: { minLength: 20 } } }
  app: { provider: local }
templates:
  - { contents: "{{cookie.value}}", destination: erlang.cookie }
  - { contents: "{api_key, {{app.api_key}}}.", destination: app.config }
output: { root: ./out }
`;

function load(reload: string): ReturnType<typeof parseConfigText> {
  return parseConfigText(`${BASE}reload:\n${reload}`, path.join(dir, 'agent.yaml'), dir);
}

function problems(reload: string): string[] {
  try {
    load(reload);
  } catch (e) {
    if (e instanceof AgentError) {
      t.equal(e.code, 'config');
      return e.problems;
    }
    throw e;
  }
  return [];
}

t.test('valid entries load', async (t) => {
  const cfg = load(`  - { type: erlang, node: erlmcp@127.0.0.1, cookieFile: ./out/erlang.cookie, call: "erlmcp_config:reload()", expect: ok }
  - { type: erlang, node: other@127.0.0.1, cookieSecret: cookie.value, call: ["a:b()", "c:d(1, <<\\"x\\">>, [e], {f, 2.5})"], expect: "{ok, done}", timeout: 3s, port: 4370 }
`);
  t.equal(cfg.reload.length, 2);
  t.same(cfg.reload[1], { type: 'erlang', node: 'other@127.0.0.1', cookieSecret: 'cookie.value', call: ['a:b()', 'c:d(1, <<"x">>, [e], {f, 2.5})'], expect: '{ok, done}', timeout: 3000, port: 4370, cookieRotation: 'node' });
});

t.test('cookie source: exactly one of cookieFile or cookieSecret', async (t) => {
  t.match(problems(`  - { type: erlang, node: erlmcp@h, call: "m:f()" }`), [/reload\[0\]: give exactly one of cookieFile .* or cookieSecret/]);
  t.match(problems(`  - { type: erlang, node: erlmcp@h, cookieFile: c, cookieSecret: cookie.value, call: "m:f()" }`), [/reload\[0\]: give exactly one .*; both are set$/]);
});

t.test('cookieSecret must name a declared secret and key', async (t) => {
  t.match(problems(`  - { type: erlang, node: erlmcp@h, cookieSecret: nosuch.value, call: "m:f()" }`), [
    /reload\[0\]\.cookieSecret: no secret "nosuch" is declared \(known: cookie, app\)/,
  ]);
  t.match(problems(`  - { type: erlang, node: erlmcp@h, cookieSecret: cookie.val, call: "m:f()" }`), [
    /reload\[0\]\.cookieSecret: secret "cookie" declares no key "val" under require \(declared: value\)/,
  ]);
  t.match(problems(`  - { type: erlang, node: erlmcp@h, cookieSecret: cookie, call: "m:f()" }`), [/must look like secret\.key/]);
  t.same(problems(`  - { type: erlang, node: erlmcp@h, cookieSecret: app.anykey, call: "m:f()" }`), [], 'a secret without require may hold any key');
});

t.test('calls and expect are parsed at load time, with the position', async (t) => {
  t.match(problems(`  - { type: erlang, node: erlmcp@h, cookieFile: c, call: "erlmcp_config:reload(" }`), [
    /^.*agent\.yaml: reload\[0\]\.call: cannot parse the Erlang call "erlmcp_config:reload\(" at character 22: /,
  ]);
  t.match(problems(`  - { type: erlang, node: erlmcp@h, cookieFile: c, call: ["a:b()", "c:d(X)"] }`), [/reload\[0\]\.call\[1\]: cannot parse the Erlang call "c:d\(X\)" at character 5/]);
  t.match(problems(`  - { type: erlang, node: erlmcp@h, cookieFile: c, call: "os:cmd(\\"x\\") ; halt()" }`), [/reload\[0\]\.call: .*at character \d+: unexpected text after the call/]);
  t.match(problems(`  - { type: erlang, node: erlmcp@h, cookieFile: c, call: "m:f()", expect: "{ok," }`), [/reload\[0\]\.expect: cannot parse the Erlang term "\{ok," at character 5/]);
  const all = problems(`  - { type: erlang, node: erlmcp@h, call: "m:f(" }
  - { type: signal, pidFile: /x }
  - { type: erlang, node: erlmcp@h, cookieSecret: x.y, call: "m" }`);
  t.equal(all.length, 4, 'every problem at once');
  t.match(all.join('\n'), /reload\[2\]\.cookieSecret/);
});

t.test('check: warnings, and exit 2 with the position for a call that does not parse', async (t) => {
  writeFileSync(path.join(dir, 'secrets.json'), JSON.stringify({ cookie: { value: 'x'.repeat(24) }, app: { api_key: 'k' } }));
  const cfg = load(`  - { type: erlang, node: erlmcp@h, cookieFile: ./out/erlang.cookie, call: "m:f()" }
  - { type: erlang, node: erlmcp@h, cookieFile: ./out/erlang.cookie, call: "m:g()", expect: ok }
`);
  const warnings = lintConfig(cfg, await prepareTemplates(cfg));
  t.match(warnings, [/reload\[0\]: no expect: any result counts as success/, /reload\[1\]: reload\[0\] already calls erlmcp@h; put both calls in one entry's call: list/]);

  const file = path.join(dir, 'bad.yaml');
  writeFileSync(file, `${BASE}reload:\n  - { type: erlang, node: erlmcp@h, cookieFile: c, call: "erlmcp_config:reload(]" }\n`);
  const run = await runCli(['check', '-c', file]);
  t.equal(run.code, 2, run.stderr);
  t.match(run.problems.join('\n'), /reload\[0\]\.call: cannot parse the Erlang call "erlmcp_config:reload\(\]" at character 22/);

  const good = path.join(dir, 'good.yaml');
  writeFileSync(good, `${BASE}reload:\n  - { type: erlang, node: erlmcp@h, cookieFile: ./out/erlang.cookie, call: "erlmcp_config:reload()", expect: ok }\n`);
  const ok = await runCli(['check', '-c', good]);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /ok: 1 provider, 2 secrets, 2 templates, 1 reload notifier/);
});

t.test('the built-in reload (no call): its options, and what does not go with it', async (t) => {
  const cfg = load(`  - { type: erlang, node: erlmcp@h, cookieFile: ./out/erlang.cookie, apply: { configFiles: [/run/secrets/erlmcp/sys.config], hook: "my_ext:secrets_reloaded" }, cookieRotation: cluster }
`);
  t.same(cfg.reload[0], {
    type: 'erlang',
    node: 'erlmcp@h',
    cookieFile: './out/erlang.cookie',
    apply: { configFiles: ['/run/secrets/erlmcp/sys.config'], envFiles: [], clearPemCache: true, hook: 'my_ext:secrets_reloaded' },
    cookieRotation: 'cluster',
    timeout: 10_000,
  });
  t.match(problems(`  - { type: erlang, node: erlmcp@h, cookieFile: c, call: "m:f()", apply: { configFiles: [x] } }\n`), [/reload\[0\]: apply configures the built-in reload, which runs only without call; drop one of them/]);
  t.match(problems(`  - { type: erlang, node: erlmcp@h, cookieFile: c, expect: ok }\n`), [/reload\[0\]\.expect: compares the result of call; the built-in reload \(no call\) checks its own result/]);
  t.match(problems(`  - { type: erlang, node: erlmcp@h, cookieFile: c, apply: { hook: "Bad:hook" } }\n`).join('\n'), /hook: must be module:function with lowercase atoms/);
  t.match(problems(`  - { type: erlang, node: erlmcp@h, cookieFile: c, cookieRotation: sometimes }\n`).join('\n'), /cookieRotation/);

  writeFileSync(path.join(dir, 'secrets.json'), JSON.stringify({ cookie: { value: 'x'.repeat(24) }, app: { api_key: 'k' } }));
  const bare = load(`  - { type: erlang, node: erlmcp@h, cookieFile: ./out/erlang.cookie }\n`);
  const warnings = lintConfig(bare, await prepareTemplates(bare));
  t.match(warnings, [/reload\[0\]: the built-in reload has no apply.configFiles or apply.envFiles: it will only clear the PEM caches, which is enough when only certificate files change; otherwise list the rendered files as the node sees them/]);
  t.notMatch(warnings.join('\n'), /no expect/, 'no "no expect" warning: the built-in reload checks its own result');
});
