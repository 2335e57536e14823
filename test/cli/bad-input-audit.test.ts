// Bad input at the front door, through the real CLI: every case gets the
// contract's exit code, a message naming the file and the config path, no
// stack trace, and leaves an existing good output directory as it was.
// AUDIT_PROGRAM=dist/erlmcp-secrets.js runs the same cases against a bundle.

import t from 'tap';
import type { Test } from 'tap';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, readdirSync, symlinkSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli, type CliRun } from '../helpers/cli.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const program = process.env.AUDIT_PROGRAM ? path.resolve(process.env.AUDIT_PROGRAM) : undefined;
const cli = (args: string[], cwd?: string) => runCli(args, { ...(program ? { program } : {}), ...(cwd ? { cwd } : {}), timeoutMs: 30_000 });

const CANARY = 'CANARY-audit-pw-4b7e91d2c3a8f605';
const GOOD_OUTPUT = 'P=previous-good-render\n';

/** a workspace with one secret, an output dir already holding a good render, and `config` */
function workspace(config: string | Buffer, name = 'agent.yaml'): { dir: string; cfg: string; out: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'audit-'));
  mkdirSync(path.join(dir, 'secrets/db'), { recursive: true });
  writeFileSync(path.join(dir, 'secrets/db/password'), CANARY);
  mkdirSync(path.join(dir, 'out'));
  writeFileSync(path.join(dir, 'out/db.env'), GOOD_OUTPUT, { mode: 0o400 });
  const cfg = path.join(dir, name);
  writeFileSync(cfg, config);
  return { dir, cfg, out: path.join(dir, 'out') };
}

const GOOD = `providers:
  local: { type: file, path: ./secrets }
secrets:
  db: { provider: local, require: [password] }
output: { root: ./out }
templates:
  - contents: "P={{db.password}}\\n"
    destination: db.env
`;

/** exit 2, the problems as expected, no stack, nothing fetched, the old output untouched */
function assertConfigFailure(t: Test, run: CliRun, w: { out: string }, expected: string[], what = 'the problems, all of them'): void {
  t.equal(run.code, 2, `exit 2\n${run.stderr}`);
  t.same([...run.problems].sort(), [...expected].sort(), what);
  t.notMatch(run.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
  t.notMatch(run.stderr, /internal error|this is a bug/, 'not reported as a bug');
  t.notOk(run.logs.some((l) => l.audit === true), 'no secret was fetched');
  t.same(readdirSync(w.out), ['db.env'], 'no file added to the output directory');
  t.equal(readFileSync(path.join(w.out, 'db.env'), 'utf8'), GOOD_OUTPUT, 'the previous render is untouched');
  assertNoLeak(t, [run.stdout, run.stderr], [CANARY]);
}

for (const command of ['check', 'init']) {
  t.test(`${command}: file-level bad input is exit 2 with the file named`, async (t) => {
    t.test('an empty file is refused, not an empty success', async (t) => {
      for (const text of ['', '\n\n', '# only a comment\n']) {
        const w = workspace(text);
        assertConfigFailure(t, await cli([command, '-c', w.cfg]), w, [
          `${w.cfg}: the config is empty (no providers, secrets or templates); check that -c points at the agent config and that it was mounted with content`,
        ]);
      }
    });

    t.test('a binary file', async (t) => {
      const w = workspace(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00, 0xff, 0xfe, 0x41, 0x0a]));
      assertConfigFailure(t, await cli([command, '-c', w.cfg]), w, [`${w.cfg}: not a text file (binary content); pass the agent config (YAML or JSON, UTF-8) with -c FILE`]);
    });

    t.test('a huge file is refused before it is parsed', async (t) => {
      const line = '  s%d: { provider: nope }\n';
      let text = 'secrets:\n';
      for (let i = 0; text.length <= 1024 * 1024; i++) text += line.replace('%d', String(i));
      const w = workspace(text);
      assertConfigFailure(t, await cli([command, '-c', w.cfg]), w, [`${w.cfg}: larger than 1048576 bytes, far more than any agent config; is this the right file?`]);
    });

    t.test('a YAML alias bomb (billion laughs) is a config error, not a crash', async (t) => {
      const levels = 'abcdefghi'.split('');
      let text = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n`;
      for (let i = 1; i < levels.length; i++) text += `${levels[i]}: &${levels[i]} [${Array(9).fill(`*${levels[i - 1]}`).join(',')}]\n`;
      const w = workspace(text);
      assertConfigFailure(t, await cli([command, '-c', w.cfg]), w, [
        `${w.cfg}: not valid YAML: YAML aliases (*name) expand to too many nodes, as in a "billion laughs" document; write the values out`,
      ]);
    });

    t.test('an alias with no anchor', async (t) => {
      const w = workspace(`${GOOD}reload: *notifiers\n`);
      assertConfigFailure(t, await cli([command, '-c', w.cfg]), w, [`${w.cfg}: not valid YAML: a YAML alias (*name) names no anchor (&name) defined before it`]);
    });

    t.test('JSON with comments says so, at the comment', async (t) => {
      const w = workspace('{\n  // the dev backend\n  "providers": { "local": { "type": "file", "path": "./secrets" } }\n}\n', 'agent.json');
      assertConfigFailure(t, await cli([command, '-c', w.cfg]), w, [
        `${w.cfg}: not valid JSON at line 2, column 3: JSON does not allow comments; remove them, or write the config as YAML and use # comments`,
      ]);
    });

    t.test('a top-level list is not a config', async (t) => {
      const w = workspace('- providers\n- secrets\n');
      assertConfigFailure(t, await cli([command, '-c', w.cfg]), w, [`${w.cfg}: the config must be a map with the keys providers, secrets, templates, reload; this one is a list`]);
    });

    t.test('two YAML documents', async (t) => {
      const w = workspace(`${GOOD}---\nlog: { level: debug }\n`);
      assertConfigFailure(t, await cli([command, '-c', w.cfg]), w, [
        `${w.cfg}: not valid YAML or JSON at line 9, column 1: more than one YAML document (a second --- line); the agent config is one document`,
      ]);
    });

    t.test('an unknown tag does not print the source line on stderr', async (t) => {
      const w = workspace(`${GOOD}log: { level: !env "${CANARY}" }\n`);
      const run = await cli([command, '-c', w.cfg]);
      t.equal(run.code, 2);
      t.notMatch(run.stderr, /YAMLWarning|Unresolved tag/, 'no parser warning on stderr');
      assertNoLeak(t, [run.stdout, run.stderr], [CANARY]);
    });
  });

  t.test(`${command}: semantic bad input reports every problem at once`, async (t) => {
    t.test('zero durations are config errors, not busy loops or instant timeouts', async (t) => {
      const w = workspace(`${GOOD.replace('require: [password] }', 'require: [password], refresh: 0s }')}refresh: { interval: "0s", backoff: { initial: 0, max: 1m } }\ninit: { timeout: 0 }\n`);
      assertConfigFailure(t, await cli([command, '-c', w.cfg]), w, [
        `${w.cfg}: secrets.db.refresh: "0s" is no time at all; give a duration longer than 0 (e.g. 30s, 5m, 250ms)`,
        `${w.cfg}: refresh.interval: "0s" is no time at all; give a duration longer than 0 (e.g. 30s, 5m, 250ms)`,
        `${w.cfg}: refresh.backoff.initial: 0 is no time at all; give a duration longer than 0 (e.g. 30s, 5m, 250ms)`,
        `${w.cfg}: init.timeout: 0 is no time at all; give a duration longer than 0 (e.g. 30s, 5m, 250ms)`,
      ]);
    });

    t.test('unknown keys suggest the key that was meant, at every level', async (t) => {
      // two passes, as the loader works: the shape of the whole file, then
      // each provider's own fields once the shape is right
      const providerTypos = GOOD.replace('require: [password] }', 'requires: [password] }').replace('type: file, path', 'type: file, pth: x, path');
      const w = workspace(
        providerTypos.replace('secrets:\n', 'secrest: {}\nsecrets:\n').replace('destination: db.env', 'destination: db.env\n    mdoe: "0400"') +
          'reload:\n  - { type: exec, comand: [x], command: [y] }\nrefresh: { intervall: 5m }\n',
      );
      assertConfigFailure(t, await cli([command, '-c', w.cfg]), w, [
        `${w.cfg}: templates[0].mdoe: unknown key; did you mean mode?`,
        `${w.cfg}: reload[0].comand: unknown key; did you mean command?`,
        `${w.cfg}: refresh.intervall: unknown key; did you mean interval?`,
        `${w.cfg}: secrest: unknown key; did you mean secrets?`,
      ]);
      const w2 = workspace(providerTypos);
      assertConfigFailure(t, await cli([command, '-c', w2.cfg]), w2, [
        `${w2.cfg}: providers.local.pth: unknown key; did you mean path?`,
        `${w2.cfg}: secrets.db.requires: unknown key; did you mean require?`,
      ]);
      const w3 = workspace(`${GOOD}tmeplates: []\nfoo: 1\n`);
      assertConfigFailure(t, await cli([command, '-c', w3.cfg]), w3, [`${w3.cfg}: tmeplates: unknown key; did you mean templates?`, `${w3.cfg}: foo: unknown key`]);
    });

    t.test('a directory under the output root that links elsewhere', async (t) => {
      const w = workspace(GOOD.replace('destination: db.env', 'destination: db.env\n  - { contents: "{{db.password}}", destination: conf/pw }'));
      const elsewhere = mkdtempSync(path.join(tmpdir(), 'audit-elsewhere-'));
      symlinkSync(elsewhere, path.join(w.out, 'conf'));
      const run = await cli([command, '-c', w.cfg]);
      t.equal(run.code, 2, run.stderr);
      t.same(run.problems, [
        `${w.cfg}: templates[1].destination: ${path.join(w.out, 'conf/pw')} leads through a symlink to ${elsewhere}, outside the output root ${w.out}; remove the link or write elsewhere under output.root`,
      ]);
      t.same(readdirSync(elsewhere), [], 'nothing written through the link');
      t.equal(readFileSync(path.join(w.out, 'db.env'), 'utf8'), GOOD_OUTPUT, 'the previous render is untouched');
      t.notOk(run.logs.some((l) => l.audit === true), 'no secret was fetched');
    });
  });
}

t.test('template modes: unquoted 0400 is the octal mode meant, a bare 440 is refused', async (t) => {
  // YAML 1.2 reads `0400` as the decimal number 400, which is octal 0620
  const w = workspace(GOOD.replace('destination: db.env', 'destination: new.env\n    mode: 0400\n  - { contents: "x", destination: group.env, mode: 0440 }'));
  const run = await cli(['init', '-c', w.cfg]);
  t.equal(run.code, 0, run.stderr);
  t.equal(statSync(path.join(w.out, 'new.env')).mode & 0o777, 0o400, 'mode: 0400 unquoted is 0400');
  t.equal(statSync(path.join(w.out, 'group.env')).mode & 0o777, 0o440, 'mode: 0440 unquoted is 0440');

  const w2 = workspace(GOOD.replace('destination: db.env', 'destination: new.env\n    mode: 440\n  - { contents: "x", destination: b, mode: 600 }'));
  for (const command of ['check', 'init']) {
    assertConfigFailure(t, await cli([command, '-c', w2.cfg]), w2, [
      `${w2.cfg}: templates[0].mode: 440 is ambiguous as a file mode (the decimal number 440 is octal 0670); write the mode as a quoted octal string like "0400"`,
      `${w2.cfg}: templates[1].mode: 600 is ambiguous as a file mode (the decimal number 600 is octal 01130); write the mode as a quoted octal string like "0400"`,
    ]);
  }
  const w3 = workspace(`${GOOD}server: { listen: "127.0.0.1:09102" }\ninit: { concurrency: 04 }\n`);
  assertConfigFailure(t, await cli(['check', '-c', w3.cfg]), w3, [`${w3.cfg}: init.concurrency: Invalid input: expected number, received string`]);
});

t.test('the output location is checked on disk before any fetch', async (t) => {
  for (const command of ['check', 'init']) {
    const w = workspace(GOOD.replace('root: ./out', 'root: ./agent.yaml'));
    const run = await cli([command, '-c', w.cfg]);
    t.equal(run.code, 2, run.stderr);
    t.same(run.problems, [`${w.cfg}: output.root: ${w.cfg} is a file, not a directory; point output.root at the volume the templates are written to`]);
    t.notOk(run.logs.some((l) => l.audit === true), 'no secret was fetched');

    const w2 = workspace(GOOD.replace('destination: db.env', 'destination: db.env\n  - { contents: "x", destination: db.env/inner }\n  - { contents: "x", destination: "./" }'));
    assertConfigFailure(t, await cli([command, '-c', w2.cfg]), w2, [`${w2.cfg}: templates[2].destination: ./ is the output root ${w2.out} itself; give a file name under it`]);
    const w3 = workspace(GOOD.replace('destination: db.env', 'destination: db.env\n  - { contents: "{{db.pasword}}", destination: db.env/inner }'));
    assertConfigFailure(t, await cli([command, '-c', w3.cfg]), w3, [
      `${w3.cfg}: templates[1].destination: ${path.join(w3.out, 'db.env')} is a file, so ${path.join(w3.out, 'db.env/inner')} cannot be written; remove it or change the destination`,
      `${w3.cfg}: templates[1] (inner): {{db.pasword}} at line 1: secret "db" declares no key "pasword" (declared: password)`,
    ], 'the disk problem and the template problem in one report');
  }
});

t.test('a symlinked output root itself is fine: links inside it are judged against its real path', async (t) => {
  const w = workspace(GOOD.replace('root: ./out', 'root: ./current').replace('destination: db.env', 'destination: sub/db.env'));
  symlinkSync(w.out, path.join(w.dir, 'current'));
  const run = await cli(['init', '-c', w.cfg]);
  t.equal(run.code, 0, run.stderr);
  t.ok(existsSync(path.join(w.out, 'sub/db.env')));
  t.equal(statSync(path.join(w.out, 'sub/db.env')).mode & 0o777, 0o400);
});

t.test('command line: a repeated or empty flag is a usage error', async (t) => {
  const w = workspace(GOOD);
  const other = path.join(w.dir, 'other.yaml');
  writeFileSync(other, GOOD);
  const twice = await cli(['init', '-c', w.cfg, '--config', other]);
  t.equal(twice.code, 2);
  t.match(twice.stderr, new RegExp(`^init: -c/--config given 2 times \\(${JSON.stringify(w.cfg).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, "${other.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}"\\); give it once\nusage:`));
  t.notOk(twice.logs.some((l) => l.audit === true), 'nothing fetched');

  const levels = await cli(['check', '-c', w.cfg, '--log-level', 'debug', '--log-level', 'info']);
  t.equal(levels.code, 2);
  t.match(levels.stderr, /^check: --log-level given 2 times \("debug", "info"\); give it once\n/);

  for (const args of [['check', '--config='], ['check', '-c', ''], ['init', '-c', '  ']]) {
    const run = await cli(args);
    t.equal(run.code, 2, args.join(' '));
    t.match(run.stderr, new RegExp(`^${args[0]}: -c/--config is empty; give the path of the agent config, e\\.g\\. -c /etc/erlmcp-secrets/agent\\.yaml\nusage:`));
  }
  t.equal(readFileSync(path.join(w.out, 'db.env'), 'utf8'), GOOD_OUTPUT);
});

t.test('environment: a bad ERLMCP_SECRETS_LOG_LEVEL is a usage error, an empty one is unset', async (t) => {
  const w = workspace(GOOD);
  const env = (level: string) => runCli(['check', '-c', w.cfg], { ...(program ? { program } : {}), env: { ERLMCP_SECRETS_LOG_LEVEL: level } });
  const bad = await env('verbose');
  t.equal(bad.code, 2, bad.stderr);
  t.match(bad.stderr, /^ERLMCP_SECRETS_LOG_LEVEL: "verbose" is not one of trace, debug, info, warn, error, fatal, silent; fix or unset the variable\nusage:/);
  t.notMatch(bad.stderr, /internal error: /, 'not reported as a crash');
  const empty = await env('');
  t.equal(empty.code, 0, empty.stderr);
  t.match(empty.stdout, /: ok: 1 provider/);
});

t.test('help: asked after the command, it is help (exit 0), not an unknown option', async (t) => {
  for (const args of [['init', '--help'], ['check', '-c', 'agent.yaml', '-h'], ['run', '-h']]) {
    const run = await cli(args);
    t.equal(run.code, 0, args.join(' '));
    t.match(run.stdout, new RegExp(`^usage: erlmcp-secrets ${args[0]} -c agent.yaml\n`), args.join(' '));
    t.equal(run.stderr, '');
  }
});

t.test('accepted as they should be: BOM, CRLF, JSON, YAML anchors used sparingly', async (t) => {
  for (const [name, text] of [
    ['bom.yaml', `\ufeff${GOOD}`],
    ['crlf.yaml', GOOD.replace(/\n/g, '\r\n')],
    ['agent.json', JSON.stringify({ providers: { local: { type: 'file', path: './secrets' } }, secrets: { db: { provider: 'local', require: ['password'] } }, output: { root: './out' }, templates: [{ contents: 'P={{db.password}}\n', destination: 'db.env' }] })],
    ['anchors.yaml', `${GOOD}refresh: { backoff: &b { initial: 1s, max: 1m } }\ninit: { backoff: *b }\n`],
    ['url.json', `{ "providers": { "local": { "type": "file", "path": "./secrets" } }, "reload": [ { "type": "http", "url": "http://127.0.0.1:1/x" } ] }`],
  ] as const) {
    const w = workspace(text, name);
    const run = await cli(['check', '-c', w.cfg]);
    t.equal(run.code, 0, `${name}: ${run.stderr}`);
    t.match(run.stdout, new RegExp(`^${w.cfg.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: ok: `), name);
  }
});
