/** provenance-guard as a library: the same pipeline the CLI and the install hooks use. */
export * from './types';
export * from './errors';
export type * from './config/types';
export { loadConfig } from './config/load';
export { validateConfig } from './config/validate';
export { createGuard, type Guard, type GuardOptions } from './guard';
export { Policy, type Evaluation, type RuleDecision } from './policy/evaluate';
export { buildReport, exitCodeOf } from './report/build';
export { formatHuman, blockedSummary } from './report/human';
export { formatJson } from './report/json';
export { formatSarif } from './report/sarif';
export { detectLockfile, readLockfile } from './lockfile/index';
export { generateKeyPair } from './feed/keys';
export { buildFeed } from './feed/build';
export { openFeed, verifyFeed } from './feed/reader';
export { VERSION } from './version';
