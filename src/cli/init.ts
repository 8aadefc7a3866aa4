import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors';
import { RC_TEMPLATE } from '../init/rc-template';
import { detectPackageManager, wirePackageManager } from '../init/index';
import { oneOf, parseCommand } from './args';
import type { CliContext } from './context';

export async function initCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommand('init', argv, { pm: { type: 'string' }, method: { type: 'string' }, force: { type: 'boolean' } }, { min: 0, max: 0, names: '' });
  const detected = detectPackageManager(ctx.cwd);
  const pm = oneOf('init', 'pm', values.pm, ['pnpm', 'yarn', 'bun'] as const, detected ?? 'pnpm');
  if (values.method !== undefined && pm !== 'pnpm') throw new UsageError('init: --method applies to pnpm only', { code: 'ERR_PG_USAGE_INVALID_VALUE' });
  const method = oneOf('init', 'method', values.method, ['config-dependency', 'pnpmfile'] as const, 'config-dependency');

  const rc = join(ctx.cwd, '.provenancerc');
  if (existsSync(rc) && !values.force) {
    ctx.stderr.write(`Kept the existing ${rc} (use --force to replace it).\n`);
  } else {
    writeFileSync(rc, RC_TEMPLATE);
    ctx.stderr.write(`Wrote ${rc}: set feed.source and feed.publicKeys, then choose mode: block when you are ready.\n`);
  }
  const done = await wirePackageManager(pm, ctx.cwd, { method, force: values.force === true });
  for (const line of done) ctx.stderr.write(`${line}\n`);
  return 0;
}
