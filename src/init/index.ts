import { initBun } from './bun';
import { initPnpm } from './pnpm';
import { initYarn, PLUGIN_PATH } from './yarn';
import type { PackageManager } from './detect';

export { detectPackageManager } from './detect';

/** Wires the install hook of a package manager into a project; returns what to tell the user. */
export async function wirePackageManager(pm: PackageManager, dir: string, options: { method: 'config-dependency' | 'pnpmfile'; force?: boolean; integrity?: string }): Promise<string[]> {
  if (pm === 'bun') {
    const result = initBun(dir, { force: options.force === true });
    return [...result.changed.map((f) => `Wrote ${f}.`), ...result.notes];
  }
  if (pm === 'pnpm') {
    const result = initPnpm(dir, { method: options.method, ...(options.integrity ? { integrity: options.integrity } : {}) });
    return [...result.changed.map((f) => `Wrote ${f}.`), ...result.notes];
  }
  initYarn(dir);
  return [`Wrote ${PLUGIN_PATH} and registered it in .yarnrc.yml: \`yarn install\` now checks every package.`];
}
