/**
 * Wires the Yarn plugin into a project the way `yarn plugin import <file>` does: the bundle
 * goes to .yarn/plugins/@yarnpkg/plugin-provenance.cjs (committed, so a fresh clone and CI
 * load it), and .yarnrc.yml `plugins:` gets `{ checksum, path, spec }`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { isMap, isSeq, YAMLSeq } from 'yaml';
import { readYamlMapping } from './yaml-file';
import { ConfigError, GuardError } from '../errors';

export const PLUGIN_NAME = '@yarnpkg/plugin-provenance';
export const PLUGIN_PATH = '.yarn/plugins/@yarnpkg/plugin-provenance.cjs';
const BUNDLE = 'plugins/yarn/dist/plugin-provenance.cjs';

/** The built bundle: next to this module in the repo, or in the installed package (dist/ → ../plugins). */
export function findBundle(from: string = __dirname): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, BUNDLE);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new GuardError(`cannot find the Yarn plugin bundle (${BUNDLE}); run \`npm run build\` in provenance-guard`, { code: 'ERR_PG_INIT_BUNDLE_MISSING' });
}

export interface InitYarnOptions {
  /** The bundle to install (default: the one shipped with provenance-guard). */
  bundlePath?: string;
}

export function initYarn(projectDir: string, options: InitYarnOptions = {}): void {
  const bundlePath = options.bundlePath ?? findBundle();
  const content = readFileSync(bundlePath);
  const target = join(projectDir, PLUGIN_PATH);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, content);

  const rcPath = join(projectDir, '.yarnrc.yml');
  const doc = readYamlMapping(rcPath);
  let plugins = doc.get('plugins');
  if (plugins === undefined || plugins === null) {
    plugins = new YAMLSeq();
    doc.set('plugins', plugins);
  }
  if (!isSeq(plugins)) throw new ConfigError(`${rcPath}: plugins: expected a list`, { file: rcPath, code: 'ERR_PG_CONFIG_INVALID' });
  // Replace an earlier entry for this plugin (re-running init upgrades it).
  plugins.items = plugins.items.filter((item) => {
    const path = isMap(item) ? item.get('path') : (item as { value?: unknown } | null)?.value;
    return typeof path !== 'string' || resolve(projectDir, path) !== resolve(target);
  });
  // `spec` is only where the plugin came from; committed files must not name this machine's paths.
  const spec = relative(projectDir, bundlePath).split(sep).join('/');
  plugins.items.push(
    doc.createNode({
      checksum: createHash('sha512').update(content).digest('hex'),
      path: PLUGIN_PATH,
      spec: spec.startsWith('..') || spec === '' || isAbsolute(spec) ? PLUGIN_PATH : spec,
    }),
  );
  writeFileSync(rcPath, doc.toString());
}
