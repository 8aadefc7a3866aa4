/**
 * The `provenance-guard` executable (dist/cli.cjs). A repeat `check` of an unchanged, installed
 * project is answered from its stored verdict by this small bundle alone (check-reuse.ts: the same
 * code and key as the full command). Everything else, and any run it cannot answer, loads the
 * full CLI (dist/cli-main.cjs), which starts again from the arguments.
 */
import { join } from 'node:path';
import { codeCacheReady } from '../code-cache-ready';
import { answerFromVerdict } from './check-reuse';
import { exitAtOnce, exitWith, processContext, type CliContext } from './context';
import type * as Main from './main';

async function main(argv: string[], ctx: CliContext): Promise<number> {
  if (argv[0] === 'check') {
    const code = await answerFromVerdict(argv.slice(1), ctx).catch(() => undefined);
    if (code !== undefined) {
      // The code this answer compiled is what the next one needs (the build runs this bundle with V8's code cache).
      codeCacheReady();
      // Everything it did was synchronous, and its output is written.
      exitAtOnce(code);
      return code;
    }
    // A check allocates tens of MB that die young. Grown to its 16 MB semi-spaces, V8's young
    // generation touches fresh memory at every scavenge (a page fault each page, ~13 µs on these
    // VMs); kept at 1 MB, a first check of 2,000 packages makes ~3,400 fewer faults and runs
    // ~50 ms faster (docs/performance-history.md). A heuristic read as the heap grows, so it applies here.
    // Required here: node:v8 loads node:stream and more (~4 ms), which a repeat answered above never needs.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('node:v8') as typeof import('node:v8')).setFlagsFromString('--semi-space-growth-factor=1');
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const full = require(join(__dirname, 'cli-main.cjs')) as typeof Main;
  return full.run(argv, ctx);
}

exitWith(main(process.argv.slice(2), processContext()));
