// esbuild plugin: keeps the parts of dependencies that the agent never runs
// out of the start-up path. Each entry names the dependency and why it is
// never reached; bench/init-cold-start.ts measures what it buys. A stub that
// is reached after all throws an error that names itself, never misbehaves.
//
// - lazy builtins: a top-level require() of a Node builtin that the
//   dependency only uses inside rarely called functions becomes a proxy that
//   requires the builtin on first use (node:http2 alone costs 10-15 ms).
// - stubs: modules the agent never reaches are replaced by a module that
//   throws when used.
//
// slimDeps({ strict: true }) (the main program's build) fails when an entry
// no longer matches anything, so a dependency upgrade cannot silently lose
// the win; the provider chunks' builds, which hold none of these, pass none.

const inNodeModules = (dir) => new RegExp(`[\\\\/]node_modules[\\\\/]${dir.replaceAll('/', '[\\\\/]')}[\\\\/]`);

const LAZY_BUILTINS = [
  {
    // axios speaks HTTP/2 only when a request sets httpVersion: 2; node-vault never does
    importer: inNodeModules('axios'),
    builtins: ['http2'],
  },
];

const STUBS = [
  {
    // follow-redirects asserts on every request, https-proxy-agent on proxy
    // paths: an assertion that holds needs nothing; one that fails is handed,
    // with its own arguments, to node:assert, so the error is the real one
    importer: /[\\/]node_modules[\\/](?:follow-redirects|(?:axios[\\/]node_modules[\\/])?https-proxy-agent)[\\/]/,
    request: /^(?:node:)?assert$/,
    contents: `'use strict';
const real = () => require('node:assert');
function assert(...args) {
  if (!args[0]) real()(...args);
}
assert.ok = assert;
assert.equal = (...args) => {
  if (args[0] != args[1]) real().equal(...args);
};
module.exports = new Proxy(assert, { get: (target, key) => (key in target ? target[key] : key === '__esModule' ? undefined : real()[key]) });
`,
  },
  {
    // The `debug` package prints when the DEBUG environment variable names a
    // namespace, and node-vault's debug output includes request bodies: with
    // DEBUG=* an AppRole secret_id or a Kubernetes JWT reaches stderr. No
    // secret value may reach a log, so the bundle has no such output (and
    // skips debug's tty and supports-color probing at start-up).
    importer: /[\\/]node_modules[\\/](?:node-vault|follow-redirects|axios[\\/]node_modules[\\/](?:https-proxy-agent|agent-base))[\\/]/,
    request: /^debug$/,
    contents: `'use strict';
function createDebug(namespace) {
  const debug = () => {};
  debug.namespace = namespace;
  debug.enabled = false;
  debug.log = () => {};
  debug.extend = (sub, delimiter = ':') => createDebug(namespace + delimiter + sub);
  return debug;
}
createDebug.enable = () => {};
createDebug.disable = () => '';
createDebug.enabled = () => false;
module.exports = createDebug;
`,
  },
  {
    // axios builds a form-data body only for multipart requests; node-vault
    // sends JSON. This also drops mime-types and mime-db (133 KB of JSON).
    importer: inNodeModules('axios'),
    request: /^form-data$/,
    contents: `class FormData { constructor() { throw new Error(${JSON.stringify(stubMessage('form-data', 'multipart request bodies'))}); } }\nmodule.exports = FormData;`,
  },
  {
    // pino builds a SonicBoom only for pino.destination() or when no stream
    // is given; agent/log/logger.ts always passes its own { write } stream.
    // This also drops node:assert and node:fs/sync_write_stream at start-up.
    importer: inNodeModules('pino'),
    request: /^sonic-boom$/,
    contents: `class SonicBoom { constructor() { throw new Error(${JSON.stringify(stubMessage('sonic-boom', 'pino.destination() and pino without a stream'))}); } }\nmodule.exports = SonicBoom;`,
  },
  {
    // transports run in worker threads (thread-stream); the agent logs to stderr itself
    importer: inNodeModules('pino'),
    request: /^\.\/(?:lib\/)?transport$/,
    contents: `module.exports = function transport() { throw new Error(${JSON.stringify(stubMessage('pino transports', 'pino.transport()'))}); };`,
  },
  {
    // pino/lib/tools.js reads isMainThread only to register a SonicBoom for
    // flushing at exit, which the stub above never creates
    importer: /[\\/]node_modules[\\/]pino[\\/]lib[\\/]tools\.js$/,
    request: /^(?:node:)?worker_threads$/,
    contents: 'module.exports = { isMainThread: true };',
  },
  {
    // only en is configured (zod/v4/classic/external.js); `z.locales` is unused
    importer: /[\\/]node_modules[\\/]zod[\\/]v4[\\/]classic[\\/]external\.js$/,
    request: /^\.\.\/locales\/index\.js$/,
    contents: 'export { default as en } from "../locales/en.js";',
    resolveDir: true,
  },
];

function stubMessage(what, use) {
  return `erlmcp-secrets: ${what} is left out of this build (image/slim-deps.mjs): ${use} are not supported`;
}

function lazyBuiltinSource(name) {
  // a function target, so that `assert(...)` works; __esModule is answered
  // without loading, since CommonJS interop helpers probe it at import
  return `'use strict';
let mod;
const load = () => (mod ??= require(${JSON.stringify(`node:${name}`)}));
module.exports = new Proxy(function () {}, {
  get: (_, key) => (key === '__esModule' ? undefined : load()[key]),
  has: (_, key) => key in load(),
  apply: (_, self, args) => Reflect.apply(load(), self, args),
  construct: (_, args) => Reflect.construct(load(), args),
});
`;
}

export function slimDeps({ strict = false } = {}) {
  return {
    name: 'slim-deps',
    setup(build) {
      const matched = new Set();
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.namespace !== 'file' || !args.importer) return undefined;
        const bare = args.path.replace(/^node:/, '');
        for (const l of LAZY_BUILTINS) {
          if (l.builtins.includes(bare) && l.importer.test(args.importer)) {
            matched.add(l);
            return { path: bare, namespace: 'slim-lazy-builtin' };
          }
        }
        for (const [i, s] of STUBS.entries()) {
          if (s.request.test(args.path) && s.importer.test(args.importer)) {
            matched.add(s);
            return { path: String(i), namespace: 'slim-stub', pluginData: { resolveDir: args.resolveDir } };
          }
        }
        return undefined;
      });
      build.onLoad({ filter: /.*/, namespace: 'slim-lazy-builtin' }, (args) => ({ contents: lazyBuiltinSource(args.path), loader: 'js' }));
      build.onLoad({ filter: /.*/, namespace: 'slim-stub' }, (args) => {
        const s = STUBS[Number(args.path)];
        return { contents: s.contents, loader: 'js', resolveDir: s.resolveDir ? args.pluginData.resolveDir : undefined };
      });
      build.onEnd((result) => {
        if (!strict || result.errors.length) return;
        const stale = [...LAZY_BUILTINS, ...STUBS].filter((e) => !matched.has(e));
        if (stale.length) {
          // a throw is what fails the build from onEnd
          throw new Error(`slim-deps: ${stale.map((e) => `${e.request ?? e.builtins.join(', ')} from ${e.importer}`).join('; ')} matched nothing; re-check image/slim-deps.mjs against the installed dependencies`);
        }
      });
    },
  };
}
