// The bundle ships each cloud provider (with its SDK) as a separate,
// compressed chunk that is compiled only when a provider of that type is
// configured (image/build.mjs, image/code-cache-loader.cjs). A chunk must use
// the main program's instances of these modules, not copies: one AgentError
// class for `instanceof`, one registry of secret values for log scrubbing.
// Running from source this is inert.

import * as errors from '../errors.ts';
import * as secretRegistry from '../log/secret-registry.ts';

export const SHARED_MODULES: Record<string, unknown> = {
  'agent/errors.ts': errors,
  'agent/log/secret-registry.ts': secretRegistry,
};

(globalThis as Record<symbol, unknown>)[Symbol.for('erlmcp-secrets.shared-modules')] = SHARED_MODULES;
