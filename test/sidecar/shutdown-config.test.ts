// The `shutdown` config block: defaults, and clear errors for bad input.

import t from 'tap';
import { parseConfigText } from '../../agent/config/load.ts';
import { AgentError } from '../../agent/errors.ts';

const base = `providers: { local: { type: file, path: ./s } }
secrets: { db: { provider: local } }
`;

t.test('defaults to keeping leases on shutdown', async (t) => {
  t.same(parseConfigText(base, 'agent.yaml', '/tmp').shutdown, { revokeLeases: false });
  t.same(parseConfigText(`${base}shutdown: { revokeLeases: true }\n`, 'agent.yaml', '/tmp').shutdown, { revokeLeases: true });
});

t.test('bad values name the field', async (t) => {
  const err = (text: string): AgentError => {
    try {
      parseConfigText(`${base}${text}\n`, 'agent.yaml', '/tmp');
    } catch (e) {
      return e as AgentError;
    }
    throw new Error('no error');
  };
  const wrongType = err('shutdown: { revokeLeases: "yes" }');
  t.equal(wrongType.code, 'config');
  t.match(wrongType.problems.join('\n'), /shutdown\.revokeLeases/);
  const unknown = err('shutdown: { revoke: true }');
  t.equal(unknown.code, 'config');
  t.match(unknown.problems.join('\n'), /shutdown.*revoke/);
});
