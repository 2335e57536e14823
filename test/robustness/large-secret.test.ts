// Big secret values (a CA bundle in PEM: 32 KiB and more): the log scrubber
// once joined every value (and its JSON-escaped form) into one RegExp, which
// V8 refuses to compile past a size limit, with a SyntaxError that quotes the
// pattern, that is every secret value: the agent died at its first log line
// printing them on stderr.
// Through the real CLI, init and run, and the scrubber on its own.

import t, { type Test } from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { forgetSecretValues, registerSecretValue, scrub } from '../../agent/log/secret-registry.ts';
import { runCli } from '../helpers/cli.ts';
import { startAgent } from '../helpers/agent-process.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

/** a PEM-shaped bundle of about `kib` KiB: 64-character base64 lines (their
 * newlines make the JSON-escaped form differ, so both forms are registered) */
const big = (tag: string, kib: number): string => {
  const lines = [`-----BEGIN CERTIFICATE----- canary-Big-${tag}`];
  for (let i = 0; lines.length * 65 < kib * 1024; i++) lines.push(createHash('sha512').update(`${tag}:${i}`).digest('base64').slice(0, 64));
  return `${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
};
const CA = big('Ca', 40);
const CHAIN = big('Chain', 8);

function setup(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'robust-big-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'secrets/tls'), { recursive: true });
  writeFileSync(join(dir, 'secrets/tls/ca'), CA);
  writeFileSync(join(dir, 'secrets/tls/chain'), CHAIN);
  const cfg = join(dir, 'agent.yaml');
  writeFileSync(
    cfg,
    `providers: { local: { type: file, path: ./secrets } }
# PEM bundles byte for byte, final newline included (the default trims one)
secrets: { tls: { provider: local, trim: false } }
templates:
  - { contents: "{{tls.ca}}", destination: ca.pem }
  - { contents: "{{tls.chain}}", destination: chain.pem }
output: { root: ./out }
server: { enabled: false }
refresh: { interval: 1s, jitter: 0 }
`,
  );
  return { dir, cfg };
}

t.test('the scrubber handles values far past the RegExp limit', async (t) => {
  t.teardown(() => forgetSecretValues());
  registerSecretValue(CA);
  registerSecretValue(CHAIN);
  const line = JSON.stringify({ msg: 'x', a: CA, b: `..${CHAIN}..` });
  let out = '';
  t.doesNotThrow(() => (out = scrub(line)));
  t.equal(out, '{"msg":"x","a":"[REDACTED]","b":"..[REDACTED].."}', 'the JSON-escaped forms are replaced whole');
  t.equal(scrub(`raw ${CHAIN} and ${CA}`), 'raw [REDACTED] and [REDACTED]', 'and the raw forms');
});

t.test('init with a 40 KiB CA bundle: exit 0, files written, nothing leaked', async (t) => {
  const { dir, cfg } = setup(t);
  const r = await runCli(['init', '-c', cfg]);
  t.equal(r.code, 0, 'exit 0');
  t.equal(readFileSync(join(dir, 'out/ca.pem'), 'utf8'), CA);
  assertNoLeak(t, [r.stdout, r.stderr], [CA, CHAIN]);
});

t.test('run with a 40 KiB CA bundle: a change is rendered, nothing leaked', async (t) => {
  const { dir, cfg } = setup(t);
  const a = startAgent(t, ['run', '-c', cfg]);
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  const mark = a.logs.length;
  const next = big('Next', 20);
  writeFileSync(join(dir, 'secrets/tls/chain'), next);
  await a.waitForLog((l) => l.msg === 'template written', 'new chain rendered', 15_000, mark);
  t.equal(readFileSync(join(dir, 'out/chain.pem'), 'utf8'), next);
  a.proc.kill('SIGTERM');
  t.same(await a.exited, { code: 0, signal: null });
  assertNoLeak(t, [a.stdout(), a.stderr()], [CA, CHAIN, next]);
});
