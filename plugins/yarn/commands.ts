/**
 * `yarn provenance check` and `yarn provenance explain`: the CLI's commands, with the same
 * output and exit codes (0 nothing blocks, 1 a package blocks, 2 usage/config/lockfile/feed
 * error), on the graph Yarn itself reads from yarn.lock.
 */
import { Configuration, Project, type CommandContext } from '@yarnpkg/core';
import { npath, ppath, Filename } from '@yarnpkg/fslib';
import { Command, Option, UsageError as ClipanionUsageError } from 'clipanion';
import * as t from 'typanion';
import { createGuard, type GuardOptions } from '../../src/guard';
import { errorText, isGuardError, LockfileError } from '../../src/errors';
import { exitCodeOf } from '../../src/report/build';
import { configLine } from '../../src/report/config-line';
import { formatHuman, shouldColor } from '../../src/report/human';
import { formatJson } from '../../src/report/json';
import { formatSarif } from '../../src/report/sarif';
import { explainPackage, formatExplanation, formatExplanationJson, splitExactSpec } from '../../src/cli/explain';
import type { ResolvedPackage } from '../../src/types';
import { resolveProject } from './resolve';
import { guardSetup } from './settings';

abstract class GuardCommand extends Command<CommandContext> {
  abstract run(): Promise<number>;

  async execute(): Promise<number> {
    try {
      return await this.run();
    } catch (error) {
      if (isGuardError(error)) {
        this.context.stderr.write(`provenance-guard: ${errorText(error)}\n`);
        return 2;
      }
      throw error;
    }
  }

  protected async setup(extra: Partial<GuardOptions>) {
    const configuration = await Configuration.find(this.context.cwd, this.context.plugins);
    const { project } = await Project.find(configuration, this.context.cwd);
    const { options } = guardSetup(project, configuration, npath.fromPortablePath(this.context.cwd), extra);
    options.warn = (message: string) => this.context.stderr.write(`provenance-guard: ${message}\n`);
    return { project, options, lockfile: npath.fromPortablePath(ppath.join(project.cwd, Filename.lockfile)) };
  }

  /** The packages yarn.lock pins, as Yarn reads them (no network). */
  protected async lockedPackages(project: Project, lockfile: string): Promise<ResolvedPackage[]> {
    try {
      return await resolveProject(project, { lockfileOnly: true });
    } catch (error) {
      throw new LockfileError(
        `${lockfile}: missing or out of date for this project (run \`yarn install\`): ${(error as Error).message.split('\n')[0]}`,
        { file: lockfile, code: 'ERR_PG_LOCKFILE_OUT_OF_DATE' },
      );
    }
  }

  protected get color(): boolean {
    return shouldColor(this.context.stdout as { isTTY?: boolean }, process.env);
  }
}

export class ProvenanceCheckCommand extends GuardCommand {
  static override paths = [['provenance', 'check']];
  static override usage = Command.Usage({
    description: 'check every package in yarn.lock against the provenance policy',
    details: 'Exit code 0 when nothing blocks, 1 when a package blocks, 2 on a config, lockfile or feed error.',
    examples: [['Check the lockfile, JSON output', 'yarn provenance check --format json']],
  });

  format = Option.String('--format', 'human', { validator: t.isEnum(['human', 'json', 'sarif'] as const) });
  offline = Option.Boolean('--offline', false, { description: 'Never touch the network; use the cached feed only' });

  async run(): Promise<number> {
    const { project, options, lockfile } = await this.setup(this.offline ? { offline: true } : {});
    const packages = await this.lockedPackages(project, lockfile);
    const guard = await createGuard(options);
    try {
      const report = await guard.check(packages);
      const out = this.context.stdout;
      (this.format === 'human' ? out : this.context.stderr).write(`${configLine(guard.config)}\n`);
      if (this.format === 'json') out.write(formatJson(report));
      else if (this.format === 'sarif') out.write(formatSarif(report, { lockfile: Filename.lockfile }));
      else out.write(formatHuman(report, { color: this.color }));
      return exitCodeOf(report);
    } finally {
      guard.close();
    }
  }
}

export class ProvenanceExplainCommand extends GuardCommand {
  static override paths = [['provenance', 'explain']];
  static override usage = Command.Usage({
    description: 'show the evidence and the rule decisions for one package version',
    examples: [['Explain a package', 'yarn provenance explain left-pad@1.3.0']],
  });

  spec = Option.String({ name: 'NAME@VERSION' });
  format = Option.String('--format', 'human', { validator: t.isEnum(['human', 'json'] as const) });
  offline = Option.Boolean('--offline', false, { description: 'Never touch the network; use the cached feed only' });

  async run(): Promise<number> {
    const parts = splitExactSpec(this.spec);
    if (!parts) throw new ClipanionUsageError(`expected NAME@VERSION with an exact version, got "${this.spec}"`);
    const { name, version } = parts;
    const { project, options, lockfile } = await this.setup(this.offline ? { offline: true } : {});
    let inLockfile: ResolvedPackage | undefined;
    try {
      inLockfile = (await resolveProject(project, { lockfileOnly: true })).find((p) => p.name === name && p.version === version);
    } catch {
      inLockfile = undefined;
    }
    const pkg: ResolvedPackage = inLockfile ?? { name, version, source: 'registry' };
    const guard = await createGuard(options);
    try {
      const evaluation = await explainPackage(guard, pkg);
      (this.format === 'json' ? this.context.stderr : this.context.stdout).write(`${configLine(guard.config)}\n`);
      if (this.format === 'json') {
        this.context.stdout.write(formatExplanationJson(evaluation, pkg));
      } else {
        this.context.stdout.write(formatExplanation(evaluation, { pkg, ...(inLockfile ? { lockfile } : {}), guard, color: this.color }));
      }
      return evaluation.verdict === 'block' ? 1 : 0;
    } finally {
      guard.close();
    }
  }
}
