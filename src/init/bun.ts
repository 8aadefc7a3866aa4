/**
 * Wires the Bun security scanner into a project (`provenance-guard init --pm bun`):
 * bunfig.toml `[install.security] scanner = "provenance-guard"`, and provenance-guard in
 * devDependencies. Bun loads the scanner from the project's dependencies: on a fresh clone it
 * installs a scanner declared there before anything else (measured with Bun 1.4.4), and it
 * refuses to install at all when the configured scanner is not a dependency.
 * The rest of an existing bunfig.toml is kept as written.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors';
import { VERSION } from '../version';

/**
 * Bun accepts only the exact name of a root dependency as a scanner it installs by itself
 * (`provenance-guard/bun` is not one: measured, SecurityScannerNotInDependencies); the package's
 * `bun` export condition makes `provenance-guard` the scanner under Bun.
 */
export const BUN_SCANNER = 'provenance-guard';
const OWN_PACKAGE = 'provenance-guard';

export interface InitBunResult {
  changed: string[];
  notes: string[];
}

const TABLE = /^\s*\[\s*install\s*\.\s*security\s*\]\s*(#.*)?$/;
const ANY_TABLE = /^\s*\[/;
const SCANNER = /^(\s*scanner\s*=\s*)(.*)$/;

/** bunfig.toml text with `[install.security] scanner` set to ours; refuses to replace another scanner unless forced. */
export function withScanner(text: string, file: string, force: boolean): string {
  const lines = text.split('\n');
  const table = lines.findIndex((line) => TABLE.test(line));
  const entry = `scanner = ${JSON.stringify(BUN_SCANNER)}`;
  if (table === -1) {
    const base = text === '' || text.endsWith('\n') ? text : `${text}\n`;
    return `${base}${base === '' ? '' : '\n'}[install.security]\n${entry}\n`;
  }
  let end = lines.findIndex((line, i) => i > table && ANY_TABLE.test(line));
  if (end === -1) end = lines.length;
  for (let i = table + 1; i < end; i++) {
    const match = SCANNER.exec(lines[i]!);
    if (!match) continue;
    const current = match[2]!.replace(/\s*#.*$/, '').trim();
    const ours = [BUN_SCANNER, `${BUN_SCANNER}/bun`].flatMap((name) => [JSON.stringify(name), `'${name}'`]);
    if (!ours.includes(current) && !force) {
      throw new ConfigError(`${file}: [install.security] scanner is already ${current}; Bun runs one scanner (use --force to replace it)`, { file, code: 'ERR_PG_INIT_CONFLICT' });
    }
    lines[i] = entry;
    return lines.join('\n');
  }
  lines.splice(table + 1, 0, entry);
  return lines.join('\n');
}

function addDevDependency(projectDir: string): boolean {
  const file = join(projectDir, 'package.json');
  if (!existsSync(file)) throw new ConfigError(`${file}: no package.json; run \`bun init\` first`, { file, code: 'ERR_PG_INIT_NO_PROJECT' });
  const text = readFileSync(file, 'utf8');
  let manifest: Record<string, unknown>;
  try {
    manifest = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`${file}: invalid JSON (${(error as Error).message})`, { file, code: 'ERR_PG_CONFIG_INVALID' });
  }
  const declared = ['dependencies', 'devDependencies', 'optionalDependencies'].some((field) => {
    const deps = manifest[field];
    return typeof deps === 'object' && deps !== null && OWN_PACKAGE in deps;
  });
  if (declared) return false;
  const dev = (typeof manifest.devDependencies === 'object' && manifest.devDependencies !== null ? manifest.devDependencies : {}) as Record<string, string>;
  manifest.devDependencies = { ...dev, [OWN_PACKAGE]: `^${VERSION}` };
  const indent = /^[ \t]+(?=")/m.exec(text)?.[0] ?? '  ';
  writeFileSync(file, JSON.stringify(manifest, null, indent) + (text.endsWith('\n') ? '\n' : ''));
  return true;
}

export function initBun(projectDir: string, options: { force?: boolean } = {}): InitBunResult {
  const bunfig = join(projectDir, 'bunfig.toml');
  const before = existsSync(bunfig) ? readFileSync(bunfig, 'utf8') : '';
  const after = withScanner(before, bunfig, options.force === true);
  const changed: string[] = [];
  if (after !== before) {
    writeFileSync(bunfig, after);
    changed.push(bunfig);
  }
  if (addDevDependency(projectDir)) changed.push(join(projectDir, 'package.json'));
  return {
    changed,
    notes: [
      `Bun now runs the scanner ${BUN_SCANNER} before every install; run \`bun install\` to install provenance-guard (Bun installs a declared scanner first, also on a fresh clone).`,
    ],
  };
}
