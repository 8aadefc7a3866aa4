// Preloaded into Yarn by the bench (NODE_OPTIONS=-r): times what the plugin costs before its gate
// runs, which PROVENANCE_GUARD_TIMING does not see: Yarn requiring the bundle, and the plugin's
// factory (the bundle's body, run when Yarn loads its plugins). Printed once on stderr at exit.
const Module = require('node:module');
const load = Module._load;
let loadMs = 0;
let factoryMs = 0;
Module._load = function (request, ...rest) {
  if (!String(request).endsWith('plugin-provenance.cjs')) return load.call(this, request, ...rest);
  const started = process.hrtime.bigint();
  const plugin = load.call(this, request, ...rest);
  loadMs += Number(process.hrtime.bigint() - started) / 1e6;
  if (plugin && typeof plugin.factory === 'function' && !plugin.factory.timed) {
    const factory = plugin.factory;
    plugin.factory = function (...args) {
      const begun = process.hrtime.bigint();
      try {
        return factory.apply(this, args);
      } finally {
        factoryMs += Number(process.hrtime.bigint() - begun) / 1e6;
      }
    };
    plugin.factory.timed = true;
  }
  return plugin;
};
process.on('exit', () => process.stderr.write(`provenance-guard bench: plugin load ${loadMs.toFixed(1)} ms, factory ${factoryMs.toFixed(1)} ms\n`));
