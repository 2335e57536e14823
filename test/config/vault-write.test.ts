// A vault secret's `write:` map (issue on write, e.g. pki/issue/ROLE) is
// checked when the config is loaded: strings, numbers, booleans and lists of
// strings, bounded in keys and size; a bad map stops the agent before any
// backend call, with exit 2 and a line that says what to fix.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfigText } from '../../agent/config/load.ts';
import { MAX_WRITE_BODY_BYTES, MAX_WRITE_KEYS, MAX_WRITE_LIST, MAX_WRITE_STRING } from '../../agent/providers/vault/write-schema.ts';
import { ROOT, runCli } from '../helpers/cli.ts';
import { agentErrorOf } from '../helpers/template-errors.ts';

const provider = `providers:
  vault: { type: vault, address: "http://127.0.0.1:8200", auth: { method: token, tokenFile: ./token } }
`;

/** a config with one secret `tls` whose fields (after provider) are `fields` (JSON, a flow map) */
function configWith(fields: Record<string, unknown>): string {
  return `${provider}secrets:\n  tls: ${JSON.stringify({ provider: 'vault', path: 'pki/issue/erlmcp', ...fields })}\n`;
}

function problemsOf(text: string): string[] {
  const e = agentErrorOf(() => parseConfigText(text, 'agent.yaml', '/etc/erlmcp'));
  t.equal(e.code, 'config');
  return e.problems;
}

t.test('a write map of strings, numbers, booleans and string lists is taken as given', async (t) => {
  const write = { common_name: 'erlmcp.example', alt_names: 'a.example,b.example', ip_sans: ['127.0.0.1', '10.0.0.1'], ttl: '24h', exclude_cn_from_sans: true, not_after_seconds: 86400 };
  const c = parseConfigText(configWith({ write, reissueFraction: 0.5 }), 'agent.yaml', '/etc/erlmcp');
  t.same(c.secrets.tls!.spec, { path: 'pki/issue/erlmcp', write, reissueFraction: 0.5 });
  // in YAML, as the docs write it
  const yaml = parseConfigText(`${provider}secrets:\n  tls:\n    provider: vault\n    path: pki/issue/erlmcp\n    write: { common_name: erlmcp.example, ttl: 24h }\n`, 'agent.yaml', '/etc/erlmcp');
  t.same(yaml.secrets.tls!.spec.write, { common_name: 'erlmcp.example', ttl: '24h' });
  t.same(parseConfigText(configWith({ write: {} }), 'agent.yaml', '/').secrets.tls!.spec.write, {}, 'an empty map: a POST without parameters');
});

t.test('values that are not a string, number, boolean or list of strings are refused', async (t) => {
  t.match(problemsOf(configWith({ write: { common_name: { nested: 'x' } } })), [/secrets\.tls\.write\.common_name: expected string or number or boolean or list, received object/]);
  t.match(problemsOf(configWith({ write: { ip_sans: ['127.0.0.1', 5] } })), [/secrets\.tls\.write\.ip_sans\[1\]: .*string/]);
  t.match(problemsOf(configWith({ write: { ttl: null } })), [/secrets\.tls\.write\.ttl: expected string or number or boolean or list, received null/]);
  t.match(problemsOf(`${provider}secrets:\n  tls:\n    provider: vault\n    path: pki/issue/erlmcp\n    write: { ttl: .inf }\n`), [/secrets\.tls\.write\.ttl: expected string or number or boolean or list, received Infinity/]);
  t.match(problemsOf(configWith({ write: 'common_name=erlmcp.example' })), [/secrets\.tls\.write: .*expected record, received string/]);
  t.match(problemsOf(configWith({ write: ['common_name'] })), [/secrets\.tls\.write: .*expected record, received array/]);
});

t.test('names and sizes are bounded', async (t) => {
  t.match(problemsOf(configWith({ write: { 'common-name': 'x' } })), [/secrets\.tls\.write\.common-name: parameter names are letters, digits and "_"/]);
  t.match(problemsOf(configWith({ write: { ['k'.repeat(65)]: 'x' } })), [/a parameter name of at most 64 characters/]);
  const many = Object.fromEntries(Array.from({ length: MAX_WRITE_KEYS + 1 }, (_, i) => [`p${i}`, 'x']));
  t.match(problemsOf(configWith({ write: many })), [new RegExp(`secrets\\.tls\\.write: at most ${MAX_WRITE_KEYS} parameters`)]);
  t.match(problemsOf(configWith({ write: { common_name: 'x'.repeat(MAX_WRITE_STRING + 1) } })), [new RegExp(`write\\.common_name: a string of at most ${MAX_WRITE_STRING} characters`)]);
  t.match(problemsOf(configWith({ write: { ip_sans: Array.from({ length: MAX_WRITE_LIST + 1 }, () => '127.0.0.1') } })), [new RegExp(`write\\.ip_sans: at most ${MAX_WRITE_LIST} items`)]);
  const big = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`p${i}`, 'x'.repeat(MAX_WRITE_STRING)]));
  t.match(problemsOf(configWith({ write: big })), [new RegExp(`secrets\\.tls\\.write: at most ${MAX_WRITE_BODY_BYTES} bytes as JSON`)]);
});

t.test('version and reissueFraction only where they mean something', async (t) => {
  t.match(problemsOf(configWith({ write: { common_name: 'x' }, version: 2 })), [/secrets\.tls\.version: a written secret is issued anew, it has no versions/]);
  t.match(problemsOf(configWith({ reissueFraction: 0.5 })), [/secrets\.tls\.reissueFraction: only for a secret with write:/]);
  t.match(problemsOf(configWith({ write: {}, reissueFraction: 1 })), [/secrets\.tls\.reissueFraction: less than 1/]);
  t.match(problemsOf(configWith({ write: {}, reissueFraction: 0 })), [/secrets\.tls\.reissueFraction: at least 0\.1/]);
  t.match(problemsOf(configWith({ write: {}, reissueFraction: 0.001 })), [/secrets\.tls\.reissueFraction: at least 0\.1 \(each re-issue is a new certificate in the PKI\)/]);
  t.equal(parseConfigText(configWith({ write: {}, reissueFraction: 0.1 }), 'agent.yaml', '/etc/erlmcp').secrets.tls!.spec['reissueFraction'], 0.1, '0.1 is allowed');
  t.match(problemsOf(configWith({ wirte: {} })), [/secrets\.tls\.wirte: unknown key; did you mean write\?/]);
});

t.test('the CLI stops with exit 2 before any backend call', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vault-write-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'token'), 'unused');
  // nothing listens on the address: a backend call would be exit 4
  const cfg = path.join(dir, 'agent.yaml');
  writeFileSync(cfg, `${configWith({ write: { common_name: { nested: true } } })}templates: [ { contents: "{{tls.certificate}}", destination: tls.crt } ]\noutput: { root: ./out }\n`);
  for (const command of ['init', 'plan', 'check']) {
    const r = await runCli([command, '-c', cfg], { cwd: dir });
    t.equal(r.code, 2, `${command}: exit 2`);
    t.match(r.problems.join('\n'), /secrets\.tls\.write\.common_name: expected string or number or boolean or list, received object/);
  }
});

t.test('the shipped erlmcp PKI example passes check', async (t) => {
  const r = await runCli(['check', '-c', path.join(ROOT, 'examples/erlmcp/agent.pki.yaml')], { env: {} });
  t.equal(r.code, 0, `check exits 0 (${r.problems.join('; ')})`);
  t.match(r.stdout, /agent\.pki\.yaml: ok: 1 provider, 2 secrets, 7 templates, 1 reload notifier/);
});
