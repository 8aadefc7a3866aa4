/** `yarn provenance check`: the CLI's check on the graph Yarn reads from yarn.lock, with its output and exit codes. */
import { Filename } from '@yarnpkg/fslib';
import { Command, Option } from 'clipanion';
import { isEnum } from 'typanion';
import { createGuard } from '../../../src/guard';
import { exitCodeOf } from '../../../src/report/build';
import { renderReport } from '../../../src/report/render';
import { GuardCommand } from './base';

export class ProvenanceCheckCommand extends GuardCommand {
  static override paths = [['provenance', 'check']];
  static override usage = Command.Usage({
    description: 'check every package in yarn.lock against the provenance policy',
    details: 'Exit code 0 when nothing blocks, 1 when a package blocks, 2 on a config, lockfile or feed error.',
    examples: [['Check the lockfile, JSON output', 'yarn provenance check --format json']],
  });

  format = Option.String('--format', 'human', { validator: isEnum(['human', 'json', 'sarif'] as const) });
  offline = Option.Boolean('--offline', false, { description: 'Never touch the network; use the cached feed only' });

  async run(): Promise<number> {
    const { project, options, lockfile } = await this.setup(this.offline ? { offline: true } : {});
    const packages = await this.lockedPackages(project, lockfile);
    const guard = await createGuard(options);
    try {
      const report = await guard.check(packages);
      renderReport(report, { format: this.format, config: guard.config, lockfile: Filename.lockfile, color: this.color }, this.context.stdout, this.context.stderr);
      return exitCodeOf(report);
    } finally {
      guard.close();
    }
  }
}

