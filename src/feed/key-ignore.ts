/**
 * `feed keygen` inside a git work tree: DIR/.gitignore gets `feed.key` before the key is written,
 * so `git add -A` can never pick the private key up. The public key stays committable.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../atomic';

/** The work tree `dir` is in (the nearest ancestor holding `.git`), if any. */
export function gitWorkTree(dir: string): string | undefined {
  for (let at = resolve(dir); ; at = dirname(at)) {
    if (existsSync(join(at, '.git'))) return at;
    if (dirname(at) === at) return undefined;
  }
}

const ENTRY = 'feed.key';

/** Adds `feed.key` to DIR/.gitignore (creating DIR); returns the .gitignore path, or undefined outside a work tree. */
export function ignorePrivateKey(dir: string): string | undefined {
  if (gitWorkTree(dir) === undefined) return undefined;
  mkdirSync(dir, { recursive: true });
  const path = join(dir, '.gitignore');
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
  if (current.split(/\r?\n/).some((line) => line.trim() === ENTRY || line.trim() === `/${ENTRY}`)) return path;
  const comment = '# the feed signing key is secret: never commit it (provenance-guard feed keygen)\n';
  writeFileAtomic(path, `${current}${current === '' || current.endsWith('\n') ? '' : '\n'}${comment}/${ENTRY}\n`);
  return path;
}

/** Whether git itself would ignore `file` (false when git says it would not; undefined without git). */
export function gitIgnores(file: string): boolean | undefined {
  const r = spawnSync('git', ['check-ignore', '-q', '--no-index', file], { cwd: dirname(file), stdio: 'ignore' });
  if (r.error || r.status === null || r.status > 1) return undefined;
  return r.status === 0;
}
