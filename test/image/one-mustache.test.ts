// image/one-mustache.mjs: the bundle (npm run build first) holds one copy of
// mustache, which the agent's templates and node-vault's paths share; the
// agent still renders through it (its own Writer, so node-vault's use cannot
// change the agent's escaping, nor the reverse).

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BUNDLE, runCli } from '../helpers/cli.ts';

t.test('one mustache in the bundle', async (t) => {
  const text = readFileSync(BUNDLE, 'latin1');
  t.equal(text.match(/name:"mustache\.js"/g)?.length, 1, 'mustache.js and mustache.mjs are not both in it');
});

t.test('templates still render through it, with their escapes', async (t) => {
  const work = mkdtempSync(path.join(tmpdir(), 'one-mustache-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  writeFileSync(path.join(work, 'secrets.json'), JSON.stringify({ app: { PASSWORD: 'a<b>&"c\'' } }));
  writeFileSync(
    path.join(work, 'agent.yaml'),
    `providers:\n  f: { type: file, path: secrets.json }\nsecrets:\n  app: { provider: f }\n` +
      `output: { root: ${path.join(work, 'out')} }\nserver: { enabled: false }\n` +
      `templates:\n  - { contents: "{{app.PASSWORD}}", destination: raw.txt }\n  - { contents: "P={{app.PASSWORD}}", destination: shell.env, escape: shell }\n`,
  );
  const r = await runCli(['init', '-c', path.join(work, 'agent.yaml')], { program: BUNDLE, cwd: work, env: { ERLMCP_SECRETS_CODE_CACHE: 'off' } });
  t.equal(r.code, 0, r.stderr);
  t.equal(readFileSync(path.join(work, 'out', 'raw.txt'), 'utf8'), 'a<b>&"c\'', 'no HTML escaping (the agent\'s Writer, not mustache\'s default)');
  t.equal(readFileSync(path.join(work, 'out', 'shell.env'), 'utf8'), `P='a<b>&"c'\\''\'`, 'the shell escape');
});
