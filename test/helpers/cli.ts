/** Runs the CLI in-process, capturing its output, with a private cache dir and no colour. */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { run } from '../../src/cli/main';

export class Capture extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await run(args, { cwd, env: { PROVENANCE_GUARD_CACHE_DIR: join(cwd, '.cache'), PROVENANCE_GUARD_STATE_DIR: join(cwd, '.cache', 'state'), NO_COLOR: '1', ...env }, stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}
