import t from 'tap';
import { createNotifier, createNotifiers } from '../../agent/reload/factory.ts';
import { reloadSchema, type ReloadConfig } from '../../agent/config/reload-schema.ts';
import { AgentError } from '../../agent/errors.ts';
import type { Notifier } from '../../agent/reload/notifier.ts';

const parse = (raw: unknown): ReloadConfig => reloadSchema.parse(raw);

t.test('builds each kind from validated config', async (t) => {
  const list = createNotifiers([
    parse({ type: 'signal', pidFile: '/run/erlmcp/erlmcp.pid' }),
    parse({ type: 'exec', command: ['/bin/true'], timeout: '5s' }),
    parse({ type: 'http', url: 'http://127.0.0.1:8081/admin/reload-config?token=abc' }),
  ]);
  t.same(list.map((n) => n.kind), ['signal', 'exec', 'http']);
  t.same(list.map((n) => n.timeoutMs), [5000, 5000, 10_000]);
  t.equal(list[0]?.describe(), 'send SIGHUP to pid file /run/erlmcp/erlmcp.pid');
  t.equal(list[1]?.describe(), 'run ["/bin/true"]');
  t.equal(list[2]?.describe(), 'POST http://127.0.0.1:8081/admin/reload-config', 'query string (may hold a token) is not shown');
});

t.test('erlang without the erldist client: a config error naming the entry', async (t) => {
  const cfg = parse({ type: 'erlang', node: 'erlmcp@127.0.0.1', call: 'erlmcp_config:reload()' });
  const err = t.throws(() => createNotifiers([parse({ type: 'exec', command: ['x'] }), cfg])) as unknown as AgentError;
  t.ok(err instanceof AgentError);
  t.equal(err.code, 'config');
  t.equal(err.where, 'reload[1]');
  t.match(err.message, /^reload\[1\]: the erlang notifier is not available in this build/);
});

t.test('erlang with deps.erlang: the slot is used', async (t) => {
  const cfg = parse({ type: 'erlang', node: 'erlmcp@127.0.0.1', call: 'erlmcp_config:reload()' });
  const seen: ReloadConfig[] = [];
  const made: Notifier = { kind: 'erlang', timeoutMs: 1, describe: () => 'x', notify: async () => ({ ok: true, detail: '', durationMs: 0 }) };
  const n = createNotifier(cfg, { erlang: (c) => (seen.push(c), made) });
  t.equal(n, made);
  t.equal(seen[0], cfg);
});
