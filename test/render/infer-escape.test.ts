// inferEscape: the escape mode a destination gets when its template has none.

import t from 'tap';
import { inferEscape } from '../../agent/render/index.ts';

t.test('by file name', async (t) => {
  const cases: Record<string, string> = {
    '/run/secrets/erlmcp.env': 'dotenv',
    '/run/secrets/.env': 'dotenv',
    '/app/.env.production': 'dotenv',
    '/run/secrets/ERLMCP.ENV': 'dotenv',
    '/run/secrets/db.sh': 'shell',
    '/vault/secrets/database.bash': 'shell',
    '/run/secrets/creds.json': 'json',
    '/etc/erlmcp/secrets.yaml': 'yaml',
    '/etc/erlmcp/secrets.yml': 'yaml',
    '/opt/erlmcp/releases/1.0.0/sys.config': 'erlang',
    'app.config': 'erlang',
    '/run/secrets/secrets.erl': 'erlang',
    '/run/secrets/extra.term': 'erlang',
    '/run/secrets/extra.terms': 'erlang',
    '/opt/erlmcp/releases/1.0.0/vm.args': 'none',
    '/run/secrets/erlang.cookie': 'none',
    '/run/secrets/.erlang.cookie': 'none',
    '/run/secrets/tls.crt': 'none',
    '/run/secrets/password': 'none',
    'C:\\secrets\\app.json': 'json',
  };
  for (const [destination, escape] of Object.entries(cases)) t.equal(inferEscape(destination), escape, destination);
});

t.test('a directory name with a dot does not count', async (t) => {
  t.equal(inferEscape('/etc/my.json.d/password'), 'none');
  t.equal(inferEscape('/run/secrets.env/token'), 'none');
});
