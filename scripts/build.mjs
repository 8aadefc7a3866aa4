// Bundles the CLI, the library and the package-manager adapters with esbuild.
// The adapters (plugins/) run inside the user's package manager, so they are fully
// self-contained: nothing of ours is required from node_modules at run time.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20.19',
  format: 'cjs',
  logLevel: 'warning',
  legalComments: 'none',
  // cosmiconfig loads TypeScript configs lazily through `typescript`; we do not support them.
  external: ['typescript'],
};

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });

const targets = [
  // The CLI and library keep their heavy, rarely used network dependencies (pacote,
  // sigstore) external: they are npm dependencies of this package, loaded only by the
  // live-evidence commands.
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.cjs', banner: { js: '#!/usr/bin/env node' }, external: [...common.external, 'pacote', 'sigstore'] },
  { entryPoints: ['src/index.ts'], outfile: 'dist/index.cjs', external: [...common.external, 'pacote', 'sigstore'] },
];

await Promise.all(targets.map((t) => build({ ...common, ...t })));
