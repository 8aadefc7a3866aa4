/**
 * @yarnpkg/plugin-provenance: the provenance-guard Yarn Berry plugin.
 * Bundled by scripts/build.mjs into plugins/yarn/dist/plugin-provenance.cjs; everything
 * Yarn provides (@yarnpkg/*, clipanion, typanion, semver) comes from the factory's require.
 */
import type { Hooks, Plugin } from '@yarnpkg/core';
import { ProvenanceCheckCommand } from './commands/check';
import { ProvenanceExplainCommand } from './commands/explain';
import { validateProject } from './gate';
import { reduceDependency } from './precheck';
import { configuration } from './settings';

const plugin: Plugin<Hooks> = {
  configuration,
  commands: [ProvenanceCheckCommand, ProvenanceExplainCommand],
  hooks: { validateProject, reduceDependency },
};

export default plugin;
