// esbuild plugin: the bundle's `prom-client` is its metric classes alone.
// prom-client's index also loads the cluster aggregator (node:cluster, which
// loads node:dgram), the Pushgateway (http, https, url) and the default
// collectors (perf_hooks, v8): about 13 MB of RSS in a sidecar that uses none
// of them. The agent uses Registry, Counter and Gauge; importing any other
// name from 'prom-client' fails the build ("No matching export"), so a new
// use is added here on purpose, not pulled in by accident.

const EXPORTS = { Registry: 'registry', Counter: 'counter', Gauge: 'gauge' };

export const promClientCore = {
  name: 'prom-client-core',
  setup(build) {
    build.onResolve({ filter: /^prom-client$/ }, (args) =>
      args.namespace === 'prom-client-core' ? undefined : { path: 'prom-client', namespace: 'prom-client-core', pluginData: { resolveDir: args.resolveDir } },
    );
    build.onLoad({ filter: /.*/, namespace: 'prom-client-core' }, (args) => ({
      contents: Object.entries(EXPORTS)
        .map(([name, file]) => `export { default as ${name} } from 'prom-client/lib/${file}.js';`)
        .join('\n'),
      resolveDir: args.pluginData.resolveDir,
      loader: 'js',
    }));
  },
};
