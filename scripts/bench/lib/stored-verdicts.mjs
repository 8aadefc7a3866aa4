// The install hooks' stored verdicts live in the state directory's `verdicts/` (src/verdict-store.ts
// stateVerdictFile): removing it makes the next install start as a CI job does, with none.
import { rmSync } from 'node:fs';
import { join } from 'node:path';

/** Forgets every stored pnpm, Yarn and Bun verdict of the state directory `env` names. */
export function forgetStoredVerdicts(env) {
  rmSync(join(env.PROVENANCE_GUARD_STATE_DIR, 'verdicts'), { recursive: true, force: true });
}
