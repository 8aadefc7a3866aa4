/** How the npm and npx wrappers read a command line: which commands are gated, which arguments are specs. */
import { describe, expect, test } from 'vitest';
import { isNoSave, parseNpmArgs } from '../src/npm/args';
import { initializerSpec, parseNpxArgs } from '../src/npm/exec';

describe('parseNpmArgs', () => {
  test.each([
    [['install'], 'install'],
    [['i', 'left-pad'], 'install'],
    [['add', 'x'], 'install'],
    [['isntall'], 'install'],
    [['update'], 'install'],
    [['up', 'x'], 'install'],
    [['dedupe'], 'install'],
    [['uninstall', 'x'], 'install'],
    [['ci'], 'ci'],
    [['clean-install'], 'ci'],
    [['cit'], 'ci'],
    [['exec', 'x'], 'exec'],
    [['x', 'cowsay'], 'exec'],
    [['run', 'install'], 'other'],
    [['test'], 'other'],
    [[], 'other'],
  ] as const)('%j → %s', (argv, action) => {
    expect(parseNpmArgs(argv).action).toBe(action);
  });

  test('an option value before the command is not taken for it; specs and options are told apart', () => {
    const inv = parseNpmArgs(['--registry', 'http://r/', 'install', '--omit', 'dev', 'a@1', '-D', '--save-exact', 'b']);
    expect(inv.action).toBe('install');
    expect(inv.command).toBe('install');
    expect(inv.positionals).toEqual(['a@1', 'b']);
    expect(inv.options).toEqual(['--registry', 'http://r/', '--omit', 'dev', '-D', '--save-exact']);
    // A value npm does not know as an option's is still never the command word.
    expect(parseNpmArgs(['--loglevel', 'silent', 'ci']).action).toBe('ci');
  });

  test('global and no-save', () => {
    expect(parseNpmArgs(['install', '-g', 'x']).global).toBe(true);
    expect(parseNpmArgs(['install', '--location=global', 'x']).global).toBe(true);
    expect(parseNpmArgs(['install', 'x']).global).toBe(false);
    expect(isNoSave(['--no-save'])).toBe(true);
    expect(isNoSave(['--save-dev'])).toBe(false);
  });
});

describe('parseNpxArgs', () => {
  test('the first positional is the package; everything after it is the command’s', () => {
    expect(parseNpxArgs(['--yes', 'cowsay@1', '--moo', 'hi'])).toEqual({ specs: ['cowsay@1'], command: undefined, args: ['--moo', 'hi'], npmOptions: ['--yes'] });
  });
  test('--package / -p name the packages, and the first positional is the command', () => {
    expect(parseNpxArgs(['-p', 'a@1', '--package=b', 'tool', 'x'])).toEqual({ specs: ['a@1', 'b'], command: 'tool', args: ['x'], npmOptions: [] });
    expect(parseNpxArgs(['--package', 'a', '-c', 'echo hi'])).toMatchObject({ specs: ['a'], call: 'echo hi' });
    expect(parseNpxArgs(['--', 'tool', '-v'])).toMatchObject({ specs: ['tool'], args: ['-v'] });
  });
  test('npm init <initializer> → the create- package', () => {
    expect(initializerSpec('vite')).toBe('create-vite');
    expect(initializerSpec('vite@5')).toBe('create-vite@5');
    expect(initializerSpec('@scope')).toBe('@scope/create');
    expect(initializerSpec('@scope/app@2')).toBe('@scope/create-app@2');
  });
});

describe('what the npm wrapper refuses rather than guess (fail closed)', () => {
  test.each([
    [['u']], [['upd', 'x']], [['updat']], [['installTest', 'x']], [['install-te', 'x']], [['install-cl']], [['exe', '--yes', 'x']],
    [['link', 'x']], [['ln', 'x']], [['audit', 'fix']], [['init', '-y', '-w', 'packages/x']], [['init', '--workspace=packages/x']],
    [['--heading', 'run', 'install', 'x']], [['--editor', 'ci', 'install', 'x']], [['edit', 'x']], [['install-scripts']],
  ] as const)('%j', (argv) => {
    const inv = parseNpmArgs(argv);
    expect(inv.action).toBe('refuse');
    expect(inv.refusal).toMatch(/./);
  });

  test.each([
    [['audit'], 'other'], [['init', '-y'], 'other'], [['view', 'x'], 'other'], [['run', 'build'], 'other'], [['rebuild'], 'other'],
    [['--global-style', 'install', 'x'], 'install'], [['--legacy-bundling', 'install', 'x'], 'install'], [['--heading=x', 'install'], 'install'],
    [['--no-heading', 'ci'], 'ci'], [['-g', 'install', 'x'], 'install'], [['--loglevel', 'silent', 'ci'], 'ci'],
  ] as const)('%j → %s', (argv, action) => {
    const inv = parseNpmArgs(argv);
    expect(inv.action).toBe(action);
    expect(inv.refusal).toBeUndefined();
  });

  test('npm boolean options never swallow the command word or a spec', () => {
    expect(parseNpmArgs(['--global-style', 'install', 'x']).positionals).toEqual(['x']);
    expect(parseNpmArgs(['install', '--legacy-bundling', 'x']).positionals).toEqual(['x']);
  });
});
