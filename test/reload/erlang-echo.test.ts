// A node that echoes a secret back in a form the `erlang` notifier prints:
// inside a quoted atom (with Erlang escapes for its quote and backslash) or
// as the character codes of an improper list. The notifier keeps atoms and
// numbers (they carry the diagnosis), so the log scrubber must know those
// forms of every registered value (the char codes of an improper list are
// also cut to a size by the notifier itself): outcome details and log lines
// never hold the value, in any of the forms the agent prints. Against a
// real node.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { reloadSchema } from '../../agent/config/reload-schema.ts';
import { forgetSecretValues, registerSecretValue, scrub } from '../../agent/log/secret-registry.ts';
import { ErlangNotifier, type ErlangReloadConfig } from '../../agent/reload/erlang.ts';
import { ErlangNodes, uniqueName } from '../helpers/erlang-node.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const COOKIE = 'cookieEchoCANARY3c4d5e6f7a8b';
// a quote, a double quote and a backslash: each printed escaped in an atom
const KEY = 'CANARY-it\'s"echo\\ed-7d41c9';
const CODES = [...KEY].map((c) => c.codePointAt(0)).join(',');

const work = mkdtempSync(path.join(tmpdir(), 'erlang-echo-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
t.teardown(() => forgetSecretValues());
const ebin = path.join(work, 'ebin');
execFileSync('mkdir', ['-p', ebin]);
execFileSync('erlc', ['-o', ebin, path.join(import.meta.dirname, 'erlang_reload_stub.erl')], { stdio: 'pipe' });
const termFile = path.join(work, 'app.config');
writeFileSync(termFile, `{api_key, <<"${KEY.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}">>}.\n`);
const cookieFile = path.join(work, 'cookie');
writeFileSync(cookieFile, `${COOKIE}\n`);

t.test('the scrubber knows the Erlang-quoted and char-code forms of a value', async (t) => {
  registerSecretValue(KEY);
  t.equal(scrub(`x 'CANARY-it\\'s"echo\\\\ed-7d41c9' y`), 'x \'[REDACTED]\' y', 'inside a quoted atom');
  t.equal(scrub(`x "CANARY-it's\\"echo\\\\ed-7d41c9" y`), 'x "[REDACTED]" y', 'inside a string');
  t.equal(scrub(`[${CODES}|loaded]`), '[[REDACTED]|loaded]', 'as character codes');
  t.equal(scrub(JSON.stringify(`'CANARY-it\\'s"echo\\\\ed-7d41c9'`)), JSON.stringify("'[REDACTED]'"), 'an atom inside a JSON log line');
  const utf8 = 'CANARY-ünïcødé-secret';
  registerSecretValue(utf8);
  t.equal(scrub(`<<${[...Buffer.from(utf8)].join(',')}>>`), '<<[REDACTED]>>', 'as the UTF-8 bytes of a binary');
});

t.test('a node that echoes the value in an atom or an improper char list: not in the outcome, not in the log', async (t) => {
  registerSecretValue(KEY); // what the pipeline does with every value it renders
  const nodes = await ErlangNodes.forTest(t);
  const node = await nodes.start({ sname: uniqueName('echo'), cookie: COOKIE, codePaths: [ebin], extraArgs: ['-stub_file', termFile] });
  const outputs: string[] = [];
  const calls: Array<[string, string | undefined, RegExp]> = [
    ['erlang_reload_stub:leak_atom()', 'ok', /returned \{loaded,'\[REDACTED\]'\}, expected ok/],
    ['erlang_reload_stub:leak_atom()', undefined, /-> \{loaded,'\[REDACTED\]'\}/],
    ['erlang_reload_stub:leak_improper()', 'ok', new RegExp(`returned \\['<${KEY.length}-character string>'\\|loaded\\], expected ok`)],
    ['erlang_reload_stub:leak_crash_atom()', 'ok', /failed on the node: \{badrpc,\{'EXIT',\{\{bad_key,'\[REDACTED\]'\}/],
  ];
  let role = 0;
  for (const [call, expect, shown] of calls) {
    const { logger, text } = memoryLogger();
    const cfg = reloadSchema.parse({
      type: 'erlang', node: node.node, cookieFile, epmdPort: nodes.epmdPort, call, timeout: '10s', ...(expect ? { expect } : {}),
    }) as ErlangReloadConfig;
    const n = new ErlangNotifier(cfg, { baseDir: work, logger, role: `echo${role++}` });
    t.teardown(() => n.close());
    const outcome = await n.notify({ secrets: ['app'], files: [termFile] }, new AbortController().signal);
    logger.warn({ detail: outcome.detail }, 'reload outcome'); // the way run-notifiers logs it
    t.match(outcome.detail, shown, `${call}: ${outcome.detail}`);
    outputs.push(outcome.detail, text());
  }
  assertNoLeak(t, outputs, [KEY, CODES, COOKIE]);
});
