import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../agent/config/load.ts';
import { prepareTemplates } from '../../agent/pipeline/prepare-templates.ts';
import { runInit } from '../../agent/pipeline/init.ts';
import { startSidecar, type SidecarInput } from '../../agent/sidecar/run.ts';
import { AgentError } from '../../agent/errors.ts';
import { forgetSecretValues } from '../../agent/log/secret-registry.ts';
import { MemoryProvider } from '../fakes/memory-provider.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const PASSWORD = 'canary-Run-Sidecar-Password-9a8b';

async function gate(t: Test, extra = ''): Promise<{ input: SidecarInput; provider: MemoryProvider; logs(): string; closed(): number }> {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-run-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.teardown(() => forgetSecretValues());
  const config = parseConfigText(
    `providers: { vault: { type: file, path: ./unused } }
secrets: { db: { provider: vault } }
templates: [ { contents: "{{db.password}}", destination: pw.txt } ]
output: { root: ./out }
server: { listen: "127.0.0.1:0", quit: true }
${extra}`,
    join(dir, 'agent.yaml'),
    dir,
  );
  const templates = await prepareTemplates(config);
  const provider = new MemoryProvider('vault', Date.now);
  provider.put('db', { password: PASSWORD });
  let closed = 0;
  provider.close = async () => void closed++;
  const providers = new Map([['vault', provider as never]]);
  const { logger, text } = memoryLogger();
  const { store } = await runInit({ config, templates, providers, logger });
  return { input: { config, templates, providers, store, logger }, provider, logs: text, closed: () => closed };
}

t.test('serves health after init and stops cleanly on POST /quit', async (t) => {
  const g = await gate(t);
  const s = await startSidecar(g.input);
  t.ok(s.server, 'server started');
  const url = s.server!.url;
  t.equal((await fetch(`${url}/healthz`)).status, 200);
  const ready = await fetch(`${url}/readyz`);
  t.equal(ready.status, 200);
  t.same(await ready.json(), { status: 'ready', rendered: true, stale: [] });
  const metrics = await (await fetch(`${url}/metrics`)).text();
  t.match(metrics, /erlmcp_secrets_last_refresh_timestamp_seconds\{secret="db"\} \d+/);
  t.equal((await fetch(`${url}/quit`, { method: 'POST' })).status, 202);
  await s.stopped;
  await t.rejects(fetch(`${url}/healthz`), 'server closed');
  t.match(g.logs(), /sidecar stopped/);
  t.equal(g.closed(), 1, 'providers closed');
  assertNoLeak(t, [metrics, g.logs()], [PASSWORD]);
});

t.test('stop() is idempotent and leaves no server behind', async (t) => {
  const g = await gate(t);
  const s = await startSidecar(g.input);
  await Promise.all([s.stop('test'), s.stop('again')]);
  await s.stopped;
  await t.rejects(fetch(`${s.server!.url}/healthz`));
  t.equal(g.closed(), 1, 'providers closed once');
});

t.test('the erlang notifier is built in; a notifier that cannot be built fails before anything starts', async (t) => {
  const reload = 'reload: [ { type: erlang, node: "erlmcp@127.0.0.1", cookieFile: ./out/pw.txt, call: "erlmcp_config:reload()" } ]';
  const ok = await gate(t, reload);
  const s = await startSidecar(ok.input);
  await s.stop('test');
  t.match(ok.logs(), /"notifiers":\["erlang erlmcp_config:reload\(\) on erlmcp@127.0.0.1"\]/, 'run and exec get the erlang notifier by default');

  const g = await gate(t, reload);
  const broken = () => {
    throw new AgentError('config', 'reload[0]: cannot build it');
  };
  const err = await startSidecar(g.input, { notifierDeps: { erlang: broken } }).then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof AgentError);
  t.equal((err as AgentError).code, 'config');
  t.match((err as AgentError).message, /reload\[0\]: cannot build it/);
  t.equal(g.closed(), 1, 'providers closed');
});

t.test('a taken listen address is a config error and the loop is stopped', async (t) => {
  const g = await gate(t);
  const first = await startSidecar(g.input);
  t.teardown(() => first.stop('teardown'));
  const g2 = await gate(t);
  const err = await startSidecar(g2.input, { listen: `127.0.0.1:${first.server!.port}` }).then(() => undefined, (e: unknown) => e);
  t.equal((err as AgentError).code, 'config');
  t.match((err as AgentError).message, /address is in use/);
  t.equal(g2.closed(), 1, 'providers of the failed start closed');
});
