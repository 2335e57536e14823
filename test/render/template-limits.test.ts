// Template size, tag count and section depth are bounded (issue 11 item 8):
// each limit is a template error (exit 2) naming the template, the limit and
// what to do, reached in bounded time, through the library, `check`, `init`
// and the webhook's admission path (a denial, never HTTP 500).

import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseTemplate, MAX_SECTION_DEPTH, MAX_TEMPLATE_BYTES, MAX_TEMPLATE_TAGS } from '../../agent/render/index.ts';
import { AgentError } from '../../agent/errors.ts';
import { runCli } from '../helpers/cli.ts';
import { agentErrorOf } from '../helpers/template-errors.ts';
import { admit, reviewOf } from '../helpers/webhook-admit.ts';
import type { Pod } from '../../agent/webhook/pod-types.ts';

const LABEL = 'templates[0] (templates/big.mustache)';

const parseError = (text: string): AgentError => agentErrorOf(() => parseTemplate(text, LABEL));

const nested = (n: number, name = 'base64encode') => `${`{{#${name}}}`.repeat(n)}{{s.k}}${`{{/${name}}}`.repeat(n)}`;

t.test('the limits', async (t) => {
  t.equal(MAX_TEMPLATE_BYTES, 256 * 1024);
  t.equal(MAX_TEMPLATE_TAGS, 10_000);
  t.equal(MAX_SECTION_DEPTH, 8);
});

t.test('3000 nested sections (and 7000) are a template error naming the depth limit, not a stack overflow', async (t) => {
  for (const n of [9, 3000, 7000]) {
    const start = performance.now();
    const err = parseError(`A=1\n${nested(n)}\n`);
    t.ok(performance.now() - start < 10_000, `${n}: answered in bounded time`);
    t.equal(err.code, 'template', `${n}: template error`);
    t.equal(
      err.message,
      `${LABEL}: sections nest more than 8 deep at line 2; a value needs at most one erl.* section around a few helper sections (see docs/templates.md)`,
      `${n} deep`,
    );
  }
  t.ok(parseTemplate(nested(7), LABEL), '7 helper sections deep is fine');
  t.equal(parseError(nested(3000, 'x')).code, 'template', 'unknown sections nested deep too');
  t.equal(parseError(`${'{{#a}}'.repeat(3000)}`).code, 'template', 'unclosed deep nesting');
  t.equal(parseError(`${'{{^a}}'.repeat(3000)}{{s.k}}${'{{/a}}'.repeat(3000)}`).code, 'template', 'inverted sections nested deep');
});

t.test('a template over 256 KiB is refused before tokenizing, by its UTF-8 size', async (t) => {
  const err = parseError('x'.repeat(MAX_TEMPLATE_BYTES + 1));
  t.equal(err.code, 'template');
  t.equal(
    err.message,
    `${LABEL}: the template is ${MAX_TEMPLATE_BYTES + 1} bytes, more than the ${MAX_TEMPLATE_BYTES} bytes (256 KiB) a template may have; split it into several templates, or keep large content in a secret and write it with one tag`,
  );
  t.ok(parseTemplate('x'.repeat(MAX_TEMPLATE_BYTES), LABEL), 'exactly 256 KiB is fine');
  t.match(parseError('é'.repeat(MAX_TEMPLATE_BYTES / 2 + 1)).message, `is ${MAX_TEMPLATE_BYTES + 2} bytes`, 'counted in UTF-8 bytes, not characters');
  const start = performance.now();
  t.equal(parseError('{{s.k}}'.repeat(5_000_000)).code, 'template', '35 MB of tags');
  t.ok(performance.now() - start < 10_000, 'refused in bounded time');
});

t.test('more than 10000 tags is refused', async (t) => {
  const err = parseError('{{s.k}}\n'.repeat(MAX_TEMPLATE_TAGS + 1));
  t.equal(err.message, `${LABEL}: the template has more than ${MAX_TEMPLATE_TAGS} tags; split it into several templates`);
  t.equal(parseTemplate('{{s.k}}'.repeat(MAX_TEMPLATE_TAGS), LABEL).references.length, MAX_TEMPLATE_TAGS, 'exactly 10000 is fine');
  t.equal(parseError('{{! c }}'.repeat(MAX_TEMPLATE_TAGS + 1)).code, 'template', 'comments count as tags too');
});

function workspace(template: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'limits-'));
  writeFileSync(path.join(dir, 'deep.mustache'), template);
  writeFileSync(path.join(dir, 'db.yaml'), 'password: x\n');
  const cfg = path.join(dir, 'agent.yaml');
  writeFileSync(
    cfg,
    `providers:\n  local: { type: file, path: . }\nsecrets:\n  db: { provider: local }\noutput: { root: ./out }\ntemplates:\n  - source: deep.mustache\n    destination: app.env\ninit: { timeout: 5s }\n`,
  );
  return cfg;
}

t.test('check and init exit 2 with the message, for 3000 nested sections', async (t) => {
  const cfg = workspace(`A=1\n${nested(3000).replaceAll('s.k', 'db.password')}\n`);
  for (const command of ['check', 'init']) {
    const run = await runCli([command, '-c', cfg]);
    t.equal(run.code, 2, `${command}: exit 2 (${run.stderr.slice(0, 300)})`);
    t.match(run.stderr, 'sections nest more than 8 deep at line 2', `${command}: names the limit`);
    t.match(run.stderr, 'deep.mustache', `${command}: names the template`);
  }
});

t.test('the webhook denies a pod whose template annotation nests 3000 sections (no HTTP 500)', async (t) => {
  const P = 'secrets.erlmcp.io/';
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'erlmcp-0',
      namespace: 'erlmcp',
      annotations: {
        [`${P}inject`]: 'true',
        [`${P}role`]: 'erlmcp',
        [`${P}secret-db`]: 'vault:secret/data/database/erlmcp',
        [`${P}template-app.env`]: nested(3000, 'json').replaceAll('s.k', 'db.password'),
      },
    },
    spec: { containers: [{ name: 'erlmcp', image: 'erlmcp/erlmcp:3.0.0' }] },
  };
  const { response } = admit(reviewOf(pod));
  t.equal(response.allowed, false, 'denied');
  t.equal(response.status?.code, 400, 'a 400 denial in the review, not an HTTP error');
  t.match(String(response.status?.message), 'sections nest more than 8 deep', 'with the limit in the message');
});
