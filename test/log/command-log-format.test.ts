// webhook and erlang-call parse their own flags but log like every other
// command: --log-format / ERLMCP_SECRETS_LOG_FORMAT, text or JSON lines, the
// secret scrubber in the path. Usage errors: plain text in text, one JSON
// `error` line in JSON, exit 2 in both.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { main } from '../../agent/cli/main.ts';
import { runWebhook } from '../../agent/webhook/cli.ts';
import type { WebhookServer } from '../../agent/webhook/server.ts';
import { ErlangNodes, freePort, uniqueName } from '../helpers/erlang-node.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { reviewOf } from '../helpers/webhook-admit.ts';

const COOKIE = 'LOGFMT-COOKIE-CANARY-3b8f1d';
const POD_SECRET = 'LOGFMT-POD-SECRET-CANARY-c94e02';
const FORMATS = ['text', 'json'] as const;

const dir = mkdtempSync(path.join(tmpdir(), 'erlmcp-cmdlog-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const cookieFile = path.join(dir, 'cookie');
writeFileSync(cookieFile, `${COOKIE}\n`, { mode: 0o600 });

interface Run { code: number; stdout: string; stderr: string }

async function cli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env });
  return { code, stdout, stderr };
}

/** every stderr line is a JSON object (json) or none is (text) */
function checkFormat(t: Test, format: 'text' | 'json', stderr: string): Array<Record<string, unknown>> {
  const lines = stderr.split('\n').filter((l) => l !== '');
  t.ok(lines.length > 0, `${format}: something on stderr`);
  if (format === 'json') {
    return lines.map((l) => {
      const rec = JSON.parse(l) as Record<string, unknown>;
      t.equal(rec.app, 'erlmcp-secrets', 'a log line of ours');
      return rec;
    });
  }
  for (const l of lines) t.notOk(l.startsWith('{'), `text line: ${l.slice(0, 60)}`);
  return [];
}

const outputs: string[] = [];

t.test('erlang-call: diagnostics and usage errors in both formats, no cookie in either', async (t) => {
  const nodes = await ErlangNodes.forTest(t);
  const node = await nodes.start({ sname: uniqueName('logfmt'), cookie: COOKIE });
  const env = { ERL_EPMD_PORT: String(nodes.epmdPort) };
  const base = ['erlang-call', '--node', node.node, '--cookie-file', cookieFile];
  for (const format of FORMATS) {
    // the flag, and the variable, choose the format; the result on stdout is unchanged
    const ok = await cli([...base, '--log-format', format, 'erlang:node()'], env);
    t.equal(ok.code, 0);
    t.equal(ok.stdout, `${node.node}\n`, 'the result is the command output, not a log line');
    t.equal(ok.stderr, '');

    // badrpc whose reason carries the cookie: the scrubber must catch it
    const bad = await cli([...base, `erlang:error(<<"${COOKIE}">>)`], { ...env, ERLMCP_SECRETS_LOG_FORMAT: format });
    outputs.push(bad.stdout, bad.stderr);
    t.equal(bad.code, 1, `${format}: badrpc exits 1`);
    const recs = checkFormat(t, format, bad.stderr);
    if (format === 'json') {
      t.equal(recs.length, 1, 'one line');
      t.equal(recs[0]!.level, 'error');
      t.equal(recs[0]!.code, 'badrpc');
      t.match(String(recs[0]!.msg), /^erlang-call: erlang:error\/1 failed on node/);
    } else {
      t.match(bad.stderr, /^\S+ ERROR erlang-call: erlang:error\/1 failed on node .*\{badrpc,/);
      t.equal(bad.stderr.split('\n').length, 2, 'one line');
    }
    t.match(bad.stderr, /\[REDACTED\]/, 'the cookie in the reason is replaced');

    const refused = await cli([...base, '--log-format', format, '--port', String(await freePort()), 'erlang:node()'], env);
    outputs.push(refused.stderr);
    t.equal(refused.code, 4);
    checkFormat(t, format, refused.stderr);
    t.match(refused.stderr, /connection refused/);

    const usage = await cli(['erlang-call', '--log-format', format, '--node', node.node, '--cookie-file', cookieFile, '--bogus', 'erlang:node()'], env);
    outputs.push(usage.stdout, usage.stderr);
    t.equal(usage.code, 2, `${format}: usage error exits 2`);
    if (format === 'json') {
      const [rec, ...more] = checkFormat(t, format, usage.stderr);
      t.equal(more.length, 0, 'one JSON line, no usage block');
      t.equal(rec!.level, 'error');
      t.equal(rec!.code, 'usage');
      t.match(String(rec!.msg), /^erlang-call: Unknown option '--bogus'/);
    } else {
      t.match(usage.stderr, /^erlang-call: Unknown option '--bogus'.*\nusage: erlmcp-secrets erlang-call/);
    }
  }
  const badFlag = await cli(['erlang-call', '--log-format', 'xml', '--node', node.node, 'erlang:node()'], env);
  t.equal(badFlag.code, 2);
  // the format is not known: the default one (JSON off a terminal), exit 2 like any usage error
  t.match(badFlag.stderr, /"code":"usage".*--log-format: \\"xml\\" is not one of text, json/);
  const badEnv = await cli([...base, 'erlang:node()'], { ...env, ERLMCP_SECRETS_LOG_FORMAT: 'yaml' });
  t.equal(badEnv.code, 2);
  t.match(badEnv.stderr, /ERLMCP_SECRETS_LOG_FORMAT: "yaml" is not one of text, json/);
});

function selfSigned(): { cert: string; key: string; pem: string } {
  const cert = path.join(dir, 'tls.crt');
  const key = path.join(dir, 'tls.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key, pem: execFileSync('cat', [cert], { encoding: 'utf8' }) };
}

function admit(port: number, ca: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/mutate', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

t.test('webhook: listening, admission, denial and stop lines, and usage errors, in both formats', async (t) => {
  const tls = selfSigned();
  for (const format of FORMATS) {
    let stderr = '';
    const stop = new AbortController();
    let server: WebhookServer | undefined;
    const exited = runWebhook(
      ['--tls-cert', tls.cert, '--tls-key', tls.key, '--listen', '127.0.0.1:0', '--log-format', format, '--vault-address', 'https://vault.vault.svc:8200', '--agent-image', 'registry.example.com/erlmcp/erlmcp-secrets:0.1.0'],
      { signal: stop.signal, stderr: { write: (s: string) => (stderr += s) }, env: {}, onListening: (s) => (server = s), shutdownDelayMs: 50 },
    );
    t.teardown(() => stop.abort());
    for (let i = 0; i < 200 && server === undefined; i++) await new Promise((r) => setTimeout(r, 25));
    t.ok(server, 'listening');
    const port = server!.address().port;
    // a pod whose env holds a value and whose annotation is wrong: denied, the values stay out of the log
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'app', namespace: 'erlmcp', annotations: { 'secrets.erlmcp.io/inject': 'true', 'secrets.erlmcp.io/mode': POD_SECRET } },
      spec: { containers: [{ name: 'app', image: 'erlmcp:1', env: [{ name: 'DB_PASSWORD', value: POD_SECRET }] }] },
    };
    t.equal(await admit(port, tls.pem, JSON.stringify(reviewOf(pod as never))), 200);
    stop.abort();
    t.equal(await exited, 0);
    outputs.push(stderr);
    const recs = checkFormat(t, format, stderr);
    if (format === 'json') {
      t.same(recs.map((r) => r.msg), ['webhook listening', 'pod denied: bad secrets.erlmcp.io annotations', 'webhook stopping: not ready, still serving while the endpoints drop this pod (a second SIGTERM stops now)', 'webhook stopping: draining connections']);
    } else {
      t.match(stderr, /^\S+ INFO {2}webhook listening address=/);
      t.match(stderr, /\n\S+ INFO {2}pod denied: bad secrets\.erlmcp\.io annotations .*problems=\d+/);
      t.match(stderr, /\n\S+ INFO {2}webhook stopping: not ready, still serving while the endpoints drop this pod \(a second SIGTERM stops now\) delaySeconds=0\.05\n/);
      t.match(stderr, /\n\S+ INFO {2}webhook stopping: draining connections\n$/);
    }

    const missing = await runWebhookCapture(['--tls-key', tls.key], format);
    t.equal(missing.code, 2);
    outputs.push(missing.stderr);
    if (format === 'json') {
      const [rec, ...more] = checkFormat(t, format, missing.stderr);
      t.equal(more.length, 0, 'one JSON line, no usage block');
      t.equal(rec!.level, 'error');
      t.equal(rec!.code, 'usage');
      t.match(String(rec!.msg), /^webhook: --tls-cert and --tls-key are required/);
    } else {
      t.match(missing.stderr, /^webhook: --tls-cert and --tls-key are required.*\nusage: erlmcp-secrets webhook/);
    }
    // through the command line entry too: the format reaches the command
    const viaMain = await cli(['webhook', '--log-format', format, '--tls-cert', tls.cert, '--tls-key', tls.key, '--mode', 'bogus-mode']);
    t.equal(viaMain.code, 2);
    checkFormat(t, format, viaMain.stderr);
    t.match(viaMain.stderr, /mode/);
  }
});

async function runWebhookCapture(argv: string[], format: 'text' | 'json'): Promise<Run> {
  let stderr = '';
  const code = await runWebhook(argv, { stderr: { write: (s: string) => (stderr += s) }, env: { ERLMCP_SECRETS_LOG_FORMAT: format } });
  return { code, stdout: '', stderr };
}

t.test('no cookie or pod value appears in anything printed above', async (t) => {
  t.ok(outputs.length >= 12, 'outputs were collected');
  assertNoLeak(t, outputs, [COOKIE, POD_SECRET]);
});
