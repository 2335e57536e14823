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
    // node-vault needs https only to build its own axios transport, which it
    // never builds (below); https would load tls at start-up even with an
    // http:// Vault. agent/providers/vault/transport.ts loads it when needed.
    importer: /[\\/]node_modules[\\/]node-vault[\\/]src[\\/]index\.js$/,
    builtins: ['https'],
  },
];

const STUBS = [
  {
    // node-vault is always given the agent's own transport
    // (agent/providers/vault/transport.ts, config['request-promise']), so it
    // never calls axios; leaving axios out also leaves out follow-redirects,
    // form-data, proxy-from-env, and axios's zlib, http2 and https set-up.
    importer: /[\\/]node_modules[\\/]node-vault[\\/]src[\\/]index\.js$/,
    request: /^axios$/,
    contents: `'use strict';
function axios() {
  throw new Error(${JSON.stringify("erlmcp-secrets internal error: node-vault called axios, which is left out of this build (image/slim-deps.mjs); every node-vault client must be given the agent's transport (config['request-promise'], agent/providers/vault/client.ts)")});
}
axios.create = axios;
axios.request = axios;
module.exports = axios;
`,
  },
  {
    // The `debug` package prints when the DEBUG environment variable names a
    // namespace, and node-vault's debug output includes request bodies: with
    // DEBUG=* an AppRole secret_id or a Kubernetes JWT reaches stderr. No
    // secret value may reach a log, so the bundle has no such output (and
    // skips debug's tty and supports-color probing at start-up).
    importer: inNodeModules('node-vault'),
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
