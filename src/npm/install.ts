/**
 * `provenance-guard npm <args>`: npm with the guard between resolution and installation.
 * - install-like commands (install/add, update, dedupe, uninstall, prune, install-test):
 *   npm resolves the command in a staging copy of the project with `--package-lock-only
 *   --ignore-scripts` (no node_modules, no script, the project untouched); the staged lockfile
 *   is checked; only when nothing blocks are the staged package.json files and lockfile written
 *   into the project (atomically, each) and `npm install` installs exactly that lockfile.
 * - `ci` (and its aliases): the committed lockfile is checked, then `npm ci` runs.
 * - `exec`/`x` and `init`/`create <initializer>`: as `provenance-guard npx`.
 * - `-g`/global installs: the packages are resolved in a temporary project and checked, then
 *   the original command runs (npm resolves them again there).
 * - anything else runs unchanged.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isNoSave, parseNpmArgs, type NpmInvocation } from './args';
import { gateLockfile, type GateContext } from './gate';
import { npmBinary, projectRoot, runProcess } from './run';
import { createStage } from './stage';
import { checkSpecs, execWithGuard, initializerSpec, npxWithGuard } from './exec';

const RESOLVE_FLAGS = ['--package-lock-only', '--package-lock=true', '--ignore-scripts', '--no-audit', '--no-fund'];

export async function npmWithGuard(argv: readonly string[], ctx: GateContext): Promise<number> {
  const inv = parseNpmArgs(argv);
  const npm = npmBinary(ctx.env);
  const passThrough = () => runProcess(npm, argv, { cwd: ctx.cwd, env: ctx.env, capture: false }).then((r) => r.code);
  if (inv.action === 'refuse') {
    ctx.write(`provenance-guard: ${inv.refusal}; nothing was run.\n`);
    return 2;
  }
  if ((inv.command === 'init' || inv.command === 'create' || inv.command === 'innit') && inv.positionals[0]) {
    const spec = initializerSpec(inv.positionals[0]);
    return execWithGuard({ specs: [spec], command: undefined, args: [...inv.positionals.slice(1), ...inv.rest], npmOptions: inv.options, initializer: true }, ctx);
  }
  switch (inv.action) {
    case 'other':
      return passThrough();
    case 'exec':
      return npxWithGuard([...inv.options, ...inv.positionals, ...(inv.rest.length ? ['--', ...inv.rest] : [])], ctx);
    case 'ci':
    case 'install': {
      const why = uncheckable(inv, ctx.env);
      if (why) {
        ctx.write(`provenance-guard: ${why}; nothing was run.\n`);
        return 2;
      }
      if (inv.action === 'ci') return ciWithGuard(inv, argv, ctx);
      if (inv.global) {
        const gate = await checkSpecs(inv.positionals, inv.options, ctx, `npm ${inv.command} -g`);
        return gate.allowed ? passThrough() : gate.exitCode;
      }
      return installWithGuard(inv, argv, ctx);
    }
  }
}

/**
 * Why a gated command cannot be checked as given: npm would install somewhere other than the
 * project the guard checks (`--prefix`), or resolve again after the check (`--no-save`).
 */
function uncheckable(inv: NpmInvocation, env: NodeJS.ProcessEnv): string | undefined {
  // npm's own script environment sets npm_config_prefix to its global prefix (with npm_config_global_prefix): that one is not a project prefix.
  const envPrefix = env.npm_config_prefix ?? env.NPM_CONFIG_PREFIX;
  const projectPrefix = envPrefix !== undefined && envPrefix !== '' && envPrefix !== env.npm_config_global_prefix;
  if (!inv.global && (inv.options.some((o) => /^(--prefix|-C)(=|$)/.test(o)) || projectPrefix)) {
    return `npm ${inv.command} with a prefix installs into another folder than the project the guard checks: run it from that folder instead`;
  }
  if (inv.action === 'install' && !inv.global && isNoSave(inv.options)) {
    return `npm ${inv.command} --no-save (or --package-lock=false) has npm resolve again after the check, so what it installs is not what was checked: run it without, and restore package.json and the lockfile afterwards if you must`;
  }
  return undefined;
}

/** Keeps npm on the lockfile the guard checked even when an .npmrc says package-lock=false. */
const USE_LOCKFILE = '--package-lock=true';

async function ciWithGuard(inv: NpmInvocation, argv: readonly string[], ctx: GateContext): Promise<number> {
  const root = projectRoot(ctx.cwd);
  const lockfile = ['npm-shrinkwrap.json', 'package-lock.json'].map((f) => join(root, f)).find((f) => existsSync(f));
  if (!lockfile) {
    ctx.write(`provenance-guard: npm ${inv.command} needs a package-lock.json or npm-shrinkwrap.json in ${root}\n`);
    return 2;
  }
  const gate = await gateLockfile(lockfile, `npm ${inv.command}`, { ...ctx, cwd: root });
  if (!gate.allowed) return gate.exitCode;
  return (await runProcess(npmBinary(ctx.env), [...argv, USE_LOCKFILE], { cwd: ctx.cwd, env: ctx.env, capture: false })).code;
}

/**
 * npm installs from the checked lockfile; should it have changed the lockfile anyway (a
 * different npm, a config that re-resolves), what it installed is checked again and reported.
 */
async function recheckIfChanged(root: string, name: string, checked: string, ctx: GateContext, command: string): Promise<number> {
  const path = join(root, name);
  if (!existsSync(path) || readFileSync(path, 'utf8') === checked) return 0;
  ctx.write(`provenance-guard: npm changed ${name} after the check; checking what it installed\n`);
  const gate = await gateLockfile(path, `npm ${command}`, { ...ctx, cwd: root }, { installed: true });
  return gate.allowed ? 0 : gate.exitCode;
}

async function installWithGuard(inv: NpmInvocation, argv: readonly string[], ctx: GateContext): Promise<number> {
  const root = projectRoot(ctx.cwd);
  const npm = npmBinary(ctx.env);
  const stage = createStage(root);
  try {
    const resolved = await runProcess(npm, [...argv, ...RESOLVE_FLAGS], { cwd: stage.dir, env: ctx.env, capture: true });
    if (resolved.code !== 0) {
      ctx.write(resolved.output);
      ctx.write(`provenance-guard: npm could not resolve \`npm ${argv.join(' ')}\` (exit ${resolved.code}); nothing was installed.\n`);
      return resolved.code;
    }
    const lockfile = stage.lockfile();
    if (!lockfile) {
      ctx.write('provenance-guard: npm wrote no lockfile while resolving (package-lock=false?): nothing can be checked, so nothing was installed.\n');
      return 2;
    }
    const gate = await gateLockfile(lockfile, `npm ${inv.command}`, { ...ctx, cwd: root });
    if (!gate.allowed) return gate.exitCode;
    stage.apply(root);
    const checked = readFileSync(lockfile, 'utf8');
    const code = (await runProcess(npm, ['install', ...inv.options, USE_LOCKFILE], { cwd: ctx.cwd, env: ctx.env, capture: false })).code;
    if (code !== 0) return code;
    const after = await recheckIfChanged(root, basename(lockfile), checked, ctx, inv.command ?? 'install');
    if (after !== 0 || !(inv.command === 'install-test' || inv.command === 'it')) return after;
    return (await runProcess(npm, ['test'], { cwd: ctx.cwd, env: ctx.env, capture: false })).code;
  } finally {
    stage.remove();
  }
}
