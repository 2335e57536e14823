// The application's environment under `exec`: the agent's own environment
// plus the secrets. Pure, so the mapping is easy to test.
//
// With `exec.env` in the config, exactly those variables are added, each a
// Mustache template with no escaping (an environment value needs none). With
// no `exec.env`, every key of every secret becomes ERLMCP_<SECRET>_<KEY>
// (upper-cased, other characters as "_"), the ERLMCP_* names erlmcp reads.

import { AgentError } from '../errors.ts';
import { parseTemplate, renderTemplate } from '../render/index.ts';

/** agent-only variables that the application must not inherit. Narrower than
 * the reload `exec` notifier's list on purpose: under `exec` the container's
 * environment was written for the application (its own cloud credentials
 * included); only what configures the agent itself is taken out. */
const AGENT_ONLY = ['ERLMCP_SECRETS_CONFIG', 'ERLMCP_SECRETS_LOG_LEVEL', 'ERLMCP_SECRETS_TERMINATION_LOG', 'VAULT_TOKEN'];

export function envName(secret: string, key: string): string {
  return `ERLMCP_${secret}_${key}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

export function childEnv(
  base: NodeJS.ProcessEnv,
  mapping: Record<string, string> | undefined,
  data: Record<string, Record<string, string>>,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const k of AGENT_ONLY) delete env[k];
  if (mapping && Object.keys(mapping).length > 0) {
    const problems: string[] = [];
    for (const [name, text] of Object.entries(mapping)) {
      try {
        env[name] = renderTemplate(parseTemplate(text, `exec.env.${name}`), data, 'none');
      } catch (e) {
        if (e instanceof AgentError) problems.push(...e.problems);
        else throw e;
      }
    }
    if (problems.length) throw new AgentError('missing', problems[0]!, { problems });
    refuseNul(Object.keys(mapping).map((name) => [name, `exec.env.${name}`]), env);
    return env;
  }
  const seen = new Map<string, string>();
  for (const [secret, keys] of Object.entries(data)) {
    for (const [key, value] of Object.entries(keys)) {
      const name = envName(secret, key);
      const other = seen.get(name);
      if (other !== undefined) {
        throw new AgentError('config', `exec: ${secret}.${key} and ${other} both map to ${name}; list the variables under exec.env`);
      }
      seen.set(name, `${secret}.${key}`);
      env[name] = value;
    }
  }
  refuseNul([...seen], env);
  return env;
}

/** spawn() refuses a NUL in the environment with a message that quotes the
 * whole value, so such a value is refused here, naming only where it came from */
function refuseNul(added: Array<[name: string, from: string]>, env: NodeJS.ProcessEnv): void {
  const problems = added
    .filter(([name]) => env[name]?.includes('\0'))
    .map(([name, from]) => `exec: ${name} (${from}) holds a NUL character, which an environment variable cannot carry; store the value without it, or base64-encode it`);
  if (problems.length) throw new AgentError('validation', problems[0]!, { problems });
}
