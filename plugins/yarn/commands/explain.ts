/** `yarn provenance explain NAME@VERSION`: the CLI's explain, for a package of yarn.lock or any version. */
import { Command, Option, UsageError as ClipanionUsageError } from 'clipanion';
import { isEnum } from 'typanion';
import { createGuard } from '../../../src/guard';
import { splitExactSpec } from '../../../src/package-name';
import { configLine } from '../../../src/report/config-line';
import { explainPackage, formatExplanation, formatExplanationJson } from '../../../src/report/explain';
import type { ResolvedPackage } from '../../../src/types';
import { resolveProject } from '../resolve';
import { GuardCommand } from './base';

export class ProvenanceExplainCommand extends GuardCommand {
  static override paths = [['provenance', 'explain']];
  static override usage = Command.Usage({
    description: 'show the evidence and the rule decisions for one package version',
    examples: [['Explain a package', 'yarn provenance explain left-pad@1.3.0']],
  });

  spec = Option.String({ name: 'NAME@VERSION' });
  format = Option.String('--format', 'human', { validator: isEnum(['human', 'json'] as const) });
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
