/** What `yarn provenance check` and `explain` share: Yarn's project, the guard's options, errors as the CLI prints them. */
import { Configuration, Project, type CommandContext } from '@yarnpkg/core';
import { npath, ppath, Filename } from '@yarnpkg/fslib';
import { Command } from 'clipanion';
import type { GuardOptions } from '../../../src/guard';
import { errorText, isGuardError, LockfileError } from '../../../src/errors';
import { shouldColor } from '../../../src/report/human';
import type { ResolvedPackage } from '../../../src/types';
import { resolveProject } from '../resolve';
import { guardSetup } from '../settings';

export abstract class GuardCommand extends Command<CommandContext> {
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

