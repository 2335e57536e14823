// Leak: pino's standard `err` serializer writes a foreign error's message,
// its causes' messages, its stack (whose first line is the message again) and
// every own property (an SDK error's $response body, request config, headers).
// Foreign messages quote their input: V8's JSON.parse quotes the start of the
// text, Node's argument checks quote the value, so an unexpected error logged
// with { err: e } (the CLI's "internal error" line, the webhook's "request
// failed") carried part of a secret, in a form the registry scrub does not
// know (a truncated slice). The agent's logger now keeps, for foreign errors,
// the type, the code and the stack frames; our own AgentError messages, which
// never carry a value, stay as they are.

import t from 'tap';
import { spawn } from 'node:child_process';
import { AgentError, asAgentError } from '../../agent/errors.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const PW = 'CANARYlogPw-Hd83Kq0Zm1';
const BODY_TOKEN = 'CANARYlogToken-Vb72Nx5Lp';
const INNER = 'CANARYlogInner-Tz40Wc8Rj';

function thrownBy(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

function lastLine(text: string): Record<string, unknown> {
  const lines = text.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

t.test('a JSON.parse error of secret text logged as err: no slice of the text', async (t) => {
  const e = thrownBy(() => JSON.parse(`${PW} is not json`));
  t.match(e.message, PW.slice(0, 8), 'precondition: V8 quotes the input');
  const m = memoryLogger();
  m.logger.error({ err: e }, 'internal error');
  assertNoLeak(t, m.text(), [PW]);
  const err = lastLine(m.text()).err as Record<string, unknown>;
  t.equal(err.type, 'SyntaxError', 'the type is kept');
  t.match(err.stack, /^ {4}at /m, 'the stack frames are kept');
  t.notMatch(err.stack, /SyntaxError:/, 'the stack does not repeat the message');
});

t.test("spawn's refusal of a NUL in the environment, logged as the first argument", async (t) => {
  const e = thrownBy(() => spawn(process.execPath, ['-e', '0'], { env: { X: `${PW}\0${PW}` } }));
  t.match(e.message, PW, 'precondition: Node quotes the value');
  const m = memoryLogger();
  m.logger.error(e);
  assertNoLeak(t, m.text(), [PW]);
  t.equal((lastLine(m.text()).err as Record<string, unknown>).code, 'ERR_INVALID_ARG_VALUE', 'the code is kept');
  t.equal(lastLine(m.text()).msg, 'TypeError (message withheld)', 'the message does not become the line\'s msg');
  m.logger.error(new AgentError('config', 'providers.v: bad address'));
  t.equal(lastLine(m.text()).msg, 'providers.v: bad address', "an AgentError's message does");
  m.logger.error(e, 'with a message of its own');
  t.equal(lastLine(m.text()).msg, 'with a message of its own');
  assertNoLeak(t, m.text(), [PW]);
});

t.test('an SDK-style error: its own properties (a response body, headers) and its causes are not written', async (t) => {
  const inner = new Error(`socket said ${INNER}`);
  const sdk = Object.assign(new Error(`Deserialization failed: ${BODY_TOKEN}`, { cause: inner }), {
    name: 'SerdeError',
    $response: { statusCode: 200, body: `{"SecretString":"${PW}"`, headers: { authorization: `Bearer ${BODY_TOKEN}` } },
    config: { credentials: { secretAccessKey: BODY_TOKEN } },
  });
  const m = memoryLogger();
  m.logger.error({ err: asAgentError(sdk, 'init') }, 'internal error');
  m.logger.error({ err: sdk }, 'internal error');
  assertNoLeak(t, m.text(), [PW, BODY_TOKEN, INNER]);
  const [ours, theirs] = m.text().trim().split('\n').map((l) => (JSON.parse(l) as { err: Record<string, unknown> }).err);
  t.equal(ours?.message, 'init: unexpected SerdeError; this is a bug, please report it with the log lines above', 'our message is kept');
  t.equal((ours?.cause as Record<string, unknown> | undefined)?.type, 'SerdeError', "the cause's type is kept");
  t.equal(theirs?.type, 'SerdeError');
  t.equal((theirs?.cause as Record<string, unknown> | undefined)?.type, 'Error', 'causes are followed');
  t.notOk('$response' in (theirs ?? {}) || 'config' in (theirs ?? {}), 'own properties are not copied');
});

t.test('what stays as it was: AgentError fields, string err values, plain objects', async (t) => {
  const m = memoryLogger();
  const ae = new AgentError('unavailable', 'vault provider "v": cannot reach Vault', { where: 'providers.v', provider: 'v' });
  m.logger.warn({ err: ae }, 'a');
  m.logger.warn({ err: 'an already safe message' }, 'b');
  const [a, b] = m.text().trim().split('\n').map((l) => JSON.parse(l) as { err: unknown });
  t.match(a?.err, { type: 'AgentError', code: 'unavailable', message: 'vault provider "v": cannot reach Vault', where: 'providers.v', provider: 'v' });
  t.equal(b?.err, 'an already safe message');
});

t.test('a cause cycle ends', async (t) => {
  const a = new Error(`a ${PW}`);
  const b = new Error(`b ${PW}`, { cause: a });
  (a as { cause?: unknown }).cause = b;
  const m = memoryLogger();
  m.logger.error({ err: a }, 'cycle');
  assertNoLeak(t, m.text(), [PW]);
  t.match(lastLine(m.text()).err, { type: 'Error', cause: { type: 'Error' } });
});
