// `erlmcp-secrets erlang-call` (runErlangCall) against a real node: what it
// prints, its exit codes, and that the cookie never shows up in its output.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runErlangCall } from '../../agent/erldist/cli.ts';
import { ErlangNodes, freePort, uniqueName } from '../helpers/erlang-node.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const COOKIE = 'CLI-COOKIE-CANARY-4d1e7b';
const WRONG_COOKIE = 'WRONG-COOKIE-CANARY-88a0c2';

const dir = mkdtempSync(join(tmpdir(), 'erldist-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const cookieFile = join(dir, 'cookie');
writeFileSync(cookieFile, `${COOKIE}\n`, { mode: 0o600 });
const wrongCookieFile = join(dir, 'wrong-cookie');
writeFileSync(wrongCookieFile, WRONG_COOKIE, { mode: 0o600 });
const emptyCookieFile = join(dir, 'empty-cookie');
writeFileSync(emptyCookieFile, '\n');

const nodes = await ErlangNodes.forTest(t);
const node = await nodes.start({ sname: uniqueName('cli'), cookie: COOKIE });

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runErlangCall(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: { ERL_EPMD_PORT: String(nodes.epmdPort), ERLMCP_SECRETS_LOG_FORMAT: 'text', ...env },
  });
  return { code, stdout, stderr };
}

const base = ['--node', node.node, '--cookie-file', cookieFile];
const outputs: string[] = [];

t.test('a successful call prints the result as an Erlang term, exit 0', async (t) => {
  const r = await run([...base, 'erlang:node()']);
  outputs.push(r.stdout, r.stderr);
  t.equal(r.code, 0);
  t.equal(r.stdout, `${node.node}\n`);
  t.equal(r.stderr, '');

  const r2 = await run([...base, 'lists:reverse([1, <<"bin">>, 42, atom, "str", [1,2], {a,b}, #{k => 2.5}])']);
  outputs.push(r2.stdout, r2.stderr);
  t.equal(r2.code, 0);
  t.equal(r2.stdout, '[#{k => 2.5},{a,b},[1,2],"str",atom,42,<<"bin">>,1]\n');

  const hidden = await run([...base, 'erlang:nodes(hidden)']);
  t.match(hidden.stdout, /^\[erlmcp_secrets_cli_[0-9a-f]{8}@/, 'the CLI connects under its own fixed hidden name');

  const r3 = await run([...base, '--timeout', '5000', 'erlang:list_to_atom("it\'s")']);
  outputs.push(r3.stdout, r3.stderr);
  t.equal(r3.stdout, "'it\\'s'\n", 'atoms that need quotes are quoted');
});

t.test('{badrpc, Reason}: exit 1 with the reason as a term', async (t) => {
  const r = await run([...base, 'erlang:error(cli_boom)']);
  outputs.push(r.stdout, r.stderr);
  t.equal(r.code, 1);
  t.equal(r.stdout, '');
  t.match(r.stderr, /erlang:error\/1 failed on node .*\{badrpc,\{'EXIT',\{cli_boom,/);
});

t.test('unreachable, rejected cookie, unknown node, timeout: exit 4', async (t) => {
  const wrong = await run(['--node', node.node, '--cookie-file', wrongCookieFile, 'erlang:node()']);
  outputs.push(wrong.stdout, wrong.stderr);
  t.equal(wrong.code, 4);
  t.match(wrong.stderr, /the node rejected our cookie/);

  const unknown = await run(['--node', `${uniqueName('ghost')}@${node.node.split('@')[1]}`, '--cookie-file', cookieFile, 'erlang:node()']);
  outputs.push(unknown.stdout, unknown.stderr);
  t.equal(unknown.code, 4);
  t.match(unknown.stderr, /is not registered in EPMD/);

  const refused = await run([...base, '--port', String(await freePort()), 'erlang:node()']);
  outputs.push(refused.stdout, refused.stderr);
  t.equal(refused.code, 4);
  t.match(refused.stderr, /connection refused/);

  const slow = await run([...base, '--timeout', '200', 'timer:sleep(3000)']);
  outputs.push(slow.stdout, slow.stderr);
  t.equal(slow.code, 4);
  t.match(slow.stderr, /did not answer timer:sleep\/1 within 200 ms/);
});

t.test('usage errors: exit 2 with the reason', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--cookie-file', cookieFile, 'erlang:node()'], /--node is required/],
    [['--node', node.node, 'erlang:node()'], /--cookie-file is required/],
    [[...base], /expected exactly one call/],
    [[...base, 'erlang:node()', 'extra'], /expected exactly one call/],
    [[...base, 'erlang:node'], /expected "\(" after the function name/],
    [[...base, 'erlang:abs(X)'], /variables are not allowed/],
    [[...base, 'erlang:abs(1 + 2)'], /expected "\)" or "," after the argument/],
    [[...base, 'erlang:abs(foo())'], /nested calls are not allowed/],
    [['--node', node.node, '--cookie-file', join(dir, 'missing'), 'erlang:node()'], /cannot read the cookie file .*ENOENT/],
    [['--node', node.node, '--cookie-file', emptyCookieFile, 'erlang:node()'], /cookie file .* is empty/],
    [['--node', 'no_host', '--cookie-file', cookieFile, 'erlang:node()'], /must look like name@host/],
    [[...base, '--port', 'http', 'erlang:node()'], /--port "http" is not a positive integer/],
    [[...base, '--tls-ca', cookieFile, 'erlang:node()'], /TLS needs all three/],
    [[...base, '--bogus', 'erlang:node()'], /Unknown option '--bogus'/],
  ];
  for (const [argv, why] of cases) {
    const r = await run(argv);
    outputs.push(r.stdout, r.stderr);
    t.equal(r.code, 2, `exit 2 for ${argv.join(' ')}`);
    t.match(r.stderr, why);
    t.match(r.stderr, /usage: erlmcp-secrets erlang-call/, 'with the usage text');
  }
});

t.test('--help prints usage, exit 0', async (t) => {
  const r = await run(['--help']);
  t.equal(r.code, 0);
  t.match(r.stdout, /Exit codes: 0 ok, 1 the call failed on the node \(badrpc\), 2 usage, 4 unreachable/);
});

t.test('no cookie (right or wrong) appears in anything printed above', async (t) => {
  t.ok(outputs.length > 20, 'outputs were collected');
  assertNoLeak(t, outputs, [COOKIE, WRONG_COOKIE]);
});

t.test('ERL_DIST_PORT (an EPMD-less node, as erlmcp runs) is the port when --port is not given', async (t) => {
  const closed = await freePort();
  const r = await run([...base, '--connect-timeout', '3000', 'erlang:node()'], { ERL_DIST_PORT: String(closed) });
  outputs.push(r.stdout, r.stderr);
  t.equal(r.code, 4, 'EPMD is not asked: the node is not on that port');
  t.match(r.stderr, String(closed));
  const flag = await run([...base, '--port', String(closed), '--connect-timeout', '3000', 'erlang:node()'], { ERL_DIST_PORT: 'junk' });
  t.equal(flag.code, 4, '--port wins; an unreadable ERL_DIST_PORT is ignored');
  const epmd = await run([...base, 'erlang:node()'], { ERL_DIST_PORT: 'junk' });
  t.equal(epmd.code, 0, 'an unreadable ERL_DIST_PORT falls back to EPMD');
  assertNoLeak(t, [r.stdout, r.stderr, flag.stderr, epmd.stderr], [COOKIE]);
});
