/**
 * The plugin's .yarnrc.yml settings and how they turn into GuardOptions.
 * Declared in the plugin's `configuration` so Yarn validates them (an unknown or invalid
 * value is a Yarn error, and a key left behind after removing the plugin fails closed).
 */
import { SettingsType, type Configuration, type ConfigurationDefinitionMap, type Project } from '@yarnpkg/core';
import { npath, type PortablePath } from '@yarnpkg/fslib';
import type { GuardOptions } from '../../src/guard';
import type { Mode } from '../../src/types';

export const MODES: readonly Mode[] = ['block', 'warn', 'off'];

export const configuration: Partial<ConfigurationDefinitionMap> = {
  provenanceConfig: {
    description: 'Path to the provenance-guard config file (default: .provenancerc searched from the project upward)',
    type: SettingsType.ABSOLUTE_PATH,
    default: null,
    isNullable: true,
  },
  provenanceMode: {
    description: 'provenance-guard mode (block | warn | off); overrides the config file, PROVENANCE_GUARD_MODE overrides it',
    type: SettingsType.STRING,
    default: null,
    isNullable: true,
    values: [...MODES],
  },
};

declare module '@yarnpkg/core' {
  interface ConfigurationValueMap {
    provenanceConfig: PortablePath | null;
    provenanceMode: string | null;
  }
}

export interface GuardSetup {
  options: GuardOptions;
  /** The mode forced from outside the config file (env, then .yarnrc.yml), if any. */
  forcedMode?: Mode;
}

export function guardSetup(project: Project | null, config: Configuration, cwd: string, extra: Partial<GuardOptions> = {}): GuardSetup {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const settingMode = config.get('provenanceMode');
  if (!env.PROVENANCE_GUARD_MODE && settingMode) env.PROVENANCE_GUARD_MODE = settingMode;
  const options: GuardOptions = {
    cwd: project ? npath.fromPortablePath(project.cwd) : cwd,
    // `yarn dlx` installs into a temporary project from the same process: the directory Yarn
    // was invoked from is the project whose policy governs.
    fallbackCwds: [process.cwd()],
    env,
    ...extra,
  };
  const configPath = config.get('provenanceConfig');
  if (configPath) options.configPath = npath.fromPortablePath(configPath);
  if (config.get('enableOfflineMode') && options.offline === undefined) options.offline = true;
  const forced = env.PROVENANCE_GUARD_MODE;
  const setup: GuardSetup = { options };
  if (forced && (MODES as readonly string[]).includes(forced)) setup.forcedMode = forced as Mode;
  return setup;
}
