/**
 * One temporary directory per test run: every test's mkdtemp (os.tmpdir()) lands inside it,
 * also in the forked workers and the package managers they start (TMPDIR is inherited), and
 * it is removed when the run ends, whatever the tests left behind. The guard's state directory
 * defaults to one inside it too, so no test reads or writes this user's trust state.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const previousState = process.env.PROVENANCE_GUARD_STATE_DIR;
  const dir = mkdtempSync(join(tmpdir(), 'pg-test-run-'));
  process.env.TMPDIR = dir;
  process.env.PROVENANCE_GUARD_STATE_DIR = join(dir, 'pg-state');
  return () => {
    if (previousState === undefined) delete process.env.PROVENANCE_GUARD_STATE_DIR;
    else process.env.PROVENANCE_GUARD_STATE_DIR = previousState;
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
}
