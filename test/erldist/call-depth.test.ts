// Deeply nested arguments to `erlang-call` are a usage error (exit 2) with
// the limit named, not a stack overflow (which exited 4).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseErlangCall, parseErlangTerm } from '../../agent/erldist/call-parser.ts';
import { ErlDistError } from '../../agent/erldist/errors.ts';
import { MAX_TERM_DEPTH } from '../../agent/erldist/limits.ts';
import { runBundleMeasured } from '../helpers/child-peak-rss.ts';

const nested = (open: string, close: string, depth: number): string => `${open.repeat(depth)}1${close.repeat(depth)}`;

t.test('the parser accepts 1000 levels and refuses more with a usage error', async (t) => {
  t.ok(parseErlangTerm(nested('[', ']', MAX_TERM_DEPTH)), '1000 nested lists parse');
  for (const [open, close] of [['[', ']'], ['{', '}'], ['#{a=>', '}'], ['[1|', ']']] as const) {
    let e: unknown;
    try {
      parseErlangCall(`m:f(${nested(open, close, 200_000)})`);
    } catch (err) {
      e = err;
    }
    t.ok(e instanceof ErlDistError && e.kind === 'usage', `${open}...: usage error`);
    t.match((e as Error).message, /terms nested deeper than 1000 levels/);
  }
});

t.test('erlang-call with 50 000 nested lists exits 2 with the usage', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'call-depth-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cookieFile = join(dir, 'cookie');
  writeFileSync(cookieFile, 'DEPTH-COOKIE-31ab', { mode: 0o600 });
  const r = await runBundleMeasured(['erlang-call', '--log-format', 'text', '--node', 'n@127.0.0.1', '--cookie-file', cookieFile, '--port', '1', `m:f(${nested('[', ']', 50_000)})`]);
  t.equal(r.code, 2);
  t.match(r.stderr, /terms nested deeper than 1000 levels/);
  t.match(r.stderr, /^usage: erlmcp-secrets erlang-call/m);
  t.notMatch(r.stderr, /Maximum call stack/);
});
