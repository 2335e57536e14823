// The rotation-age policy's edges: config (maxAge, failInit), Vault's
// created_time as hostile input in the read answer, and what Health reports
// as time passes.

import t from 'tap';
import { parseConfigText } from '../../agent/config/load.ts';
import { isAgentError } from '../../agent/errors.ts';
import { toSecretValue } from '../../agent/providers/vault/response.ts';
import { Health } from '../../agent/server/health.ts';

const NOW = Date.UTC(2026, 11, 3, 12);
const DAY = 86_400_000;

function problemsOf(text: string): string[] {
  try {
    parseConfigText(text, 'agent.yaml', '/tmp', {});
    return [];
  } catch (e) {
    return isAgentError(e) ? e.problems : [String(e)];
  }
}

t.test('config: maxAge is a duration; failInit needs it', async (t) => {
  const base = 'providers: { local: { type: file, path: ./s } }\nsecrets:\n';
  const cfg = parseConfigText(`${base}  db: { provider: local, maxAge: 90d, failInit: true }\n  api: { provider: local, maxAge: 30d }\n`, 'agent.yaml', '/tmp', {});
  t.equal(cfg.secrets.db?.maxAgeMs, 90 * DAY);
  t.equal(cfg.secrets.db?.failInit, true);
  t.equal(cfg.secrets.api?.failInit, undefined);
  t.same(cfg.secrets.db?.spec, {}, 'not passed to the provider as a field');
  t.match(problemsOf(`${base}  db: { provider: local, failInit: true }\n`).join('\n'), 'secrets.db.failInit: needs maxAge');
  t.match(problemsOf(`${base}  db: { provider: local, maxAge: soon }\n`).join('\n'), /secrets\.db\.maxAge: "soon" is not a duration/);
  t.match(problemsOf(`${base}  db: { provider: local, maxAge: 0s }\n`).join('\n'), /secrets\.db\.maxAge: .*no time at all/);
  t.match(problemsOf(`${base}  db: { provider: local, maxAge: 90d, failInit: yes please }\n`).join('\n'), /secrets\.db\.failInit/);
});

t.test("vault: created_time is the version's time, unless it cannot be believed", async (t) => {
  const answer = (created: unknown) => ({ data: { data: { password: 'x' }, metadata: { version: 3, created_time: created, deletion_time: '', destroyed: false } } });
  t.equal(toSecretValue(answer('2026-09-01T10:00:00.123456789Z'), NOW)?.createdAt, Date.UTC(2026, 8, 1, 10, 0, 0, 123));
  for (const hostile of ['2999-01-01T00:00:00Z', '0001-01-01T00:00:00Z', 'not a date', '9'.repeat(50_000)]) {
    const problems: string[] = [];
    const v = toSecretValue(answer(hostile), NOW, 'vault secret/data/x', (p) => problems.push(p));
    t.equal(v?.createdAt, undefined, `${hostile.slice(0, 20)}: no age`);
    t.equal(v?.version, '3', 'the value itself is fine');
    t.match(problems.join('\n'), /^metadata\.created_time .*; the secret's age is unknown$/);
    t.ok(problems.join('').length < 200, 'the problem stays short');
  }
  t.equal(toSecretValue({ data: { password: 'x' } }, NOW)?.createdAt, undefined, 'KV v1: no version time');
});

t.test('health: overdue by time alone; no maxAge, no overdue; readiness unaffected', async (t) => {
  let now = NOW;
  const h = new Health({ now: () => now });
  h.markRendered();
  h.markFresh('db', now);
  h.markAge('db', now - 89 * DAY, 90 * DAY);
  h.markAge('plain', now - 400 * DAY, undefined);
  h.markAge('unknown', undefined, 90 * DAY);
  t.equal(h.readiness().overdue, undefined, 'within maxAge: no field');
  t.same(h.ages().map((a) => a.secret), ['db', 'plain']);
  now += 2 * DAY;
  const r = h.readiness();
  t.equal(r.ready, true);
  t.same(r.overdue, [{ secret: 'db', ageSeconds: 91 * 86_400, maxAgeSeconds: 90 * 86_400, createdAt: NOW - 89 * DAY }]);
  h.markAge('db', now, 90 * DAY);
  t.equal(h.readiness().overdue, undefined, 'a new version');
});
