/**
 * The integration tests run the built bundles (dist/cli.cjs, the pnpm and Yarn bundles). A
 * bundle older than any source it is built from is rebuilt before the run, so a test never
 * silently exercises stale code (`npm test` builds first; a direct `vitest run` is covered here).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
export const BUNDLES = ['dist/cli.cjs', 'dist/cli-main.cjs', 'dist/cli-yaml.cjs', 'dist/index.cjs', 'plugins/bun/dist/scanner.cjs', 'plugins/bun/dist/scanner-yaml.cjs', 'plugins/pnpm/dist/pnpmfile.cjs', 'plugins/pnpm/dist/config-dependency/pnpmfile.cjs', 'plugins/yarn/dist/plugin-provenance.cjs'];
const SOURCES = ['src', 'plugins', 'scripts/build.mjs', 'scripts/code-cache-wrap.mjs', 'scripts/esbuild-deferred.mjs', 'scripts/esbuild-js-yaml.mjs', 'package.json'];

function newestSource(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) {
    if (entry === 'dist' || entry === 'node_modules') continue;
    newest = Math.max(newest, newestSource(join(path, entry)));
  }
  return newest;
}

/** True when a bundle is missing or older than a source file. */
export function bundlesAreStale(root = ROOT): boolean {
  const sources = Math.max(...SOURCES.map((p) => join(root, p)).filter(existsSync).map(newestSource));
  return BUNDLES.some((b) => !existsSync(join(root, b)) || statSync(join(root, b)).mtimeMs < sources);
}

export default function setup(): void {
  if (bundlesAreStale()) execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'inherit' });
}
