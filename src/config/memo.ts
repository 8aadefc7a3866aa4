/**
 * A validated config remembered beside a stored verdict (src/verdict-store.ts), so that a repeat
 * run whose config file is byte-for-byte unchanged skips reading it as YAML and validating it (the
 * YAML parser alone costs tens of milliseconds in a cold hook process).
 *
 * Sound because what it stands for is a function of the file's path, its bytes and the guard's
 * version only: environment overrides and command-line options are applied to it afterwards, on
 * every run. A memo is only ever read from a verdict file whose MAC verified (written by this user
 * from a real parse), and used only when path, version and SHA-256 of the bytes all match.
 * JavaScript configs (their result may depend on anything) and package.json are never remembered.
 */
import { createHash } from 'node:crypto';
import type { Config } from './types';
import { VERSION } from '../version';

export interface ConfigMemo {
  file: string;
  sha256: string;
  version: string;
  /** The validated config, before environment overrides. */
  config: Config;
}

const memos = new WeakMap<Config, ConfigMemo>();

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Notes where a freshly validated config came from (call before any override is applied). */
export function rememberConfig(config: Config, file: string, bytes: Uint8Array): void {
  memos.set(config, { file, sha256: sha256(bytes), version: VERSION, config: JSON.parse(JSON.stringify(config)) as Config });
}

/** The memo of a config loaded from a file (overrides applied since do not matter: the memo holds the config before them). */
export function configMemoOf(config: Config): ConfigMemo | undefined {
  return memos.get(config);
}

/** A copy of the remembered config when it stands for exactly these bytes of this file; else undefined. */
export function configFromMemo(memo: ConfigMemo | undefined, file: string, bytes: Uint8Array): Config | undefined {
  if (!memo || memo.file !== file || memo.version !== VERSION || typeof memo.config !== 'object' || memo.config === null) return undefined;
  const digest = sha256(bytes);
  if (memo.sha256 !== digest) return undefined;
  const config = JSON.parse(JSON.stringify(memo.config)) as Config;
  memos.set(config, { ...memo, config: JSON.parse(JSON.stringify(memo.config)) as Config });
  return config;
}

export function isConfigMemo(value: unknown): value is ConfigMemo {
  const memo = value as ConfigMemo | null;
  return typeof memo === 'object' && memo !== null && typeof memo.file === 'string' && typeof memo.sha256 === 'string' && typeof memo.version === 'string' && typeof memo.config === 'object' && memo.config !== null;
}
