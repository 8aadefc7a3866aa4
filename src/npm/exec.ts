/**
 * `provenance-guard npx <args>` (and `npm exec`, `npm init <initializer>`): the packages npx
 * would fetch are resolved in a temporary project with `--package-lock-only --ignore-scripts`,
 * checked, installed there with `npm ci` only when nothing blocks, and the command runs from
 * that install in the caller's directory. A command npx would take from the project's own
 * node_modules/.bin (no version given, no --package) runs through npx unchanged: it was
 * installed, and checked, with the project.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gateLockfile, type GateContext, type GateOutcome } from './gate';
import { npmBinary, projectRoot, runProcess } from './run';

const NPX_VALUE_OPTIONS = new Set(['--package', '-p', '--call', '-c', '--workspace', '-w', '--registry', '--userconfig', '--cache', '--prefix', '--loglevel']);
const RESOLVE_FLAGS = ['--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', '--save'];

export interface ExecRequest {
  specs: string[];
  /** The command to run (from -p/--package runs); undefined: the package's own bin. */
  command: string | undefined;
  args: string[];
  npmOptions: string[];
  initializer?: boolean;
}

/** npm init/create's initializer → package spec (`foo` → create-foo, `@s` → @s/create, `@s/foo@1` → @s/create-foo@1). */
export function initializerSpec(initializer: string): string {
  const at = initializer.indexOf('@', 1);
  const name = at === -1 ? initializer : initializer.slice(0, at);
  const version = at === -1 ? '' : initializer.slice(at);
  if (name.startsWith('@')) {
    const [scope, pkg] = name.split('/');
    return `${scope}/create${pkg ? `-${pkg}` : ''}${version}`;
  }
  return `create-${name}${version}`;
}

/** Parses npx's command line: options up to the command, then the command and its arguments. */
export function parseNpxArgs(argv: readonly string[]): ExecRequest & { call?: string } {
  const specs: string[] = [];
  const npmOptions: string[] = [];
  let call: string | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-')) break;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = NPX_VALUE_OPTIONS.has(flag) ? (inline ?? argv[++i]) : undefined;
    if (flag === '--package' || flag === '-p') specs.push(value ?? '');
    else if (flag === '--call' || flag === '-c') call = value;
    else npmOptions.push(...(value !== undefined ? [flag, value] : [arg]));
  }
  const [first, ...args] = argv.slice(i);
  if (specs.length === 0) return { specs: first ? [first] : [], command: undefined, args, npmOptions, ...(call !== undefined ? { call } : {}) };
  return { specs, command: first, args, npmOptions, ...(call !== undefined ? { call } : {}) };
}

function unscoped(name: string): string {
  return name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
}

function specName(spec: string): string {
  const at = spec.indexOf('@', 1);
  return at === -1 ? spec : spec.slice(0, at);
}

/** A bare command the project already provides in node_modules/.bin (npx runs it without fetching). */
function localBin(root: string, request: ExecRequest): boolean {
  if (request.command !== undefined || request.specs.length !== 1) return false;
  const spec = request.specs[0]!;
  if (/[@:/]/.test(spec.slice(1)) && spec.indexOf('@', 1) !== -1) return false;
  return existsSync(join(root, 'node_modules/.bin', unscoped(spec)));
}

/** The bin npx runs for a package: its only bin, else the one named like the package. */
function binOf(dir: string, name: string): string | undefined {
  try {
    const manifest = JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { bin?: unknown; name?: string };
    if (typeof manifest.bin === 'string') return unscoped(manifest.name ?? name);
    if (typeof manifest.bin === 'object' && manifest.bin !== null) {
      const bins = Object.keys(manifest.bin);
      if (bins.length === 1) return bins[0];
      return bins.find((b) => b === unscoped(name));
    }
  } catch {
    // no manifest: no bin
  }
  return undefined;
}

interface Resolved {
  dir: string;
  gate: GateOutcome;
  names: string[];
}

async function resolveSpecs(specs: readonly string[], npmOptions: readonly string[], ctx: GateContext, what: string): Promise<Resolved | { dir: string; failed: number }> {
  const root = projectRoot(ctx.cwd);
  const dir = mkdtempSync(join(tmpdir(), 'provenance-guard-npx-'));
  writeFileSync(join(dir, 'package.json'), '{ "name": "provenance-guard-npx", "version": "0.0.0", "private": true }\n');
  if (existsSync(join(root, '.npmrc'))) copyFileSync(join(root, '.npmrc'), join(dir, '.npmrc'));
  const resolved = await runProcess(npmBinary(ctx.env), ['install', ...specs, ...npmOptions.filter((o) => o !== '--yes' && o !== '-y'), ...RESOLVE_FLAGS], { cwd: dir, env: ctx.env, capture: true });
  if (resolved.code !== 0) {
    ctx.write(resolved.output);
    ctx.write(`provenance-guard: npm could not resolve ${specs.join(' ')} (exit ${resolved.code}); nothing was installed.\n`);
    return { dir, failed: resolved.code };
  }
  const gate = await gateLockfile(join(dir, 'package-lock.json'), what, { ...ctx, cwd: root });
  const deps = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {};
  return { dir, gate, names: Object.keys(deps) };
}

/** Resolves and checks package specs (global installs); nothing is installed. */
export async function checkSpecs(specs: readonly string[], npmOptions: readonly string[], ctx: GateContext, what: string): Promise<GateOutcome> {
  const result = await resolveSpecs(specs, npmOptions.filter((o) => !/^(-g|--global)$/.test(o)), ctx, what);
  rmSync(result.dir, { recursive: true, force: true });
  if ('failed' in result) return { allowed: false, exitCode: 2 };
  return result.gate;
}

export async function execWithGuard(request: ExecRequest, ctx: GateContext): Promise<number> {
  const npm = npmBinary(ctx.env);
  if (request.specs.length === 0 || localBin(projectRoot(ctx.cwd), request)) {
    return (await runProcess(npm, ['exec', ...request.npmOptions, '--', ...(request.specs.length ? [request.specs[0]!] : []), ...request.args], { cwd: ctx.cwd, env: ctx.env, capture: false })).code;
  }
  const what = `npx ${request.specs.join(' ')}`;
  const result = await resolveSpecs(request.specs, request.npmOptions, ctx, what);
  try {
    if ('failed' in result) return result.failed;
    if (!result.gate.allowed) return result.gate.exitCode;
    const installed = await runProcess(npm, ['ci', '--no-audit', '--no-fund'], { cwd: result.dir, env: ctx.env, capture: true });
    if (installed.code !== 0) {
      ctx.write(installed.output);
      return installed.code;
    }
    const name = result.names.find((n) => n === specName(request.specs[0]!)) ?? result.names[0]!;
    const bin = request.command ?? binOf(result.dir, name);
    if (!bin) {
      ctx.write(`provenance-guard: ${name} has no single command to run; name one with --package=${name} <command>\n`);
      return 2;
    }
    const binDir = join(result.dir, 'node_modules/.bin');
    const env = { ...ctx.env, PATH: `${binDir}:${ctx.env.PATH ?? ''}` };
    const command = request.command === undefined ? join(binDir, bin) : bin;
    return (await runProcess(command, request.args, { cwd: ctx.cwd, env, capture: false })).code;
  } finally {
    rmSync(result.dir, { recursive: true, force: true });
  }
}

export async function npxWithGuard(argv: readonly string[], ctx: GateContext): Promise<number> {
  const request = parseNpxArgs(argv);
  if (request.call !== undefined) {
    // -c runs a shell command: with --package the packages are checked first, without it only local bins are used.
    if (request.specs.length > 0) {
      const gate = await checkSpecs(request.specs, request.npmOptions, ctx, `npx ${request.specs.join(' ')}`);
      if (!gate.allowed) return gate.exitCode;
    }
    return (await runProcess(npmBinary(ctx.env), ['exec', ...argv], { cwd: ctx.cwd, env: ctx.env, capture: false })).code;
  }
  return execWithGuard(request, ctx);
}
