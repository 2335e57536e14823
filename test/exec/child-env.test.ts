import t from 'tap';
import { childEnv, envName } from '../../agent/exec/child-env.ts';

const data = { db: { password: 'CANARY-env-pw-1234', 'user-name': 'erlmcp' }, cookie: { value: 'CANARYcookie0987654321' } };

t.test('default mapping: ERLMCP_<SECRET>_<KEY>', async (t) => {
  const env = childEnv({ PATH: '/bin', ERLMCP_SECRETS_CONFIG: '{}', VAULT_TOKEN: 'x' }, undefined, data);
  t.same(env, { PATH: '/bin', ERLMCP_DB_PASSWORD: data.db.password, ERLMCP_DB_USER_NAME: 'erlmcp', ERLMCP_COOKIE_VALUE: data.cookie.value });
  t.equal(envName('my-db', 'a.b'), 'ERLMCP_MY_DB_A_B');
});

t.test('explicit mapping renders templates without escaping', async (t) => {
  const env = childEnv({ HOME: '/h' }, { ERLMCP_COOKIE: '{{cookie.value}}', DB_URL: 'postgres://erlmcp:{{db.password}}@db/erlmcp' }, data);
  t.same(env, { HOME: '/h', ERLMCP_COOKIE: data.cookie.value, DB_URL: `postgres://erlmcp:${data.db.password}@db/erlmcp` });
});

t.test('a missing key is an error naming it, not an empty variable', async (t) => {
  t.throws(() => childEnv({}, { X: '{{db.pasword}}' }, data), { code: 'missing', message: /^exec\.env\.X: \{\{db\.pasword\}\} at line 1: / });
  try {
    childEnv({}, { X: '{{db.pasword}}' }, data);
  } catch (e) {
    t.notMatch(String((e as Error).message), 'CANARY');
  }
});

t.test('colliding default names are refused', async (t) => {
  t.throws(() => childEnv({}, undefined, { a: { 'b-c': '1', b_c: '2' } }), { code: 'config', message: 'exec: a.b_c and a.b-c both map to ERLMCP_A_B_C; list the variables under exec.env' });
});
