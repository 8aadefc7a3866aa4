/**
 * provenance-guard as a Bun security scanner (`[install.security] scanner` in bunfig.toml).
 *
 * Measured with Bun 1.4.4 (test/bun.test.ts): Bun calls `scan` after resolving and before
 * downloading, linking or running any script, on every install path (fresh, `bun add`,
 * `--frozen-lockfile`, an up-to-date install); `bun add` passes only the packages it adds. A
 * `fatal` advisory cancels the install with nothing installed; a `warn` advisory prompts on a
 * TTY and, without one, cancels the install ("Cannot prompt for confirmation (no TTY)").
 * So: block → `fatal`; warnings are printed on stderr by the scanner and returned as `warn`
 * advisories only when Bun can prompt, so warn mode never fails an install. A throw stops the
 * install (used to fail closed on a config or feed error under `mode: block`).
 */
import type { Guard, GuardOptions } from '../../src/guard';
import { errorText } from '../../src/errors';
import { configLine } from '../../src/report/config-line';
import { buildReport } from '../../src/report/build';
import { escapeControl } from '../../src/report/escape';
import { blockedSummary } from '../../src/report/human';
import type { Mode, PackageResult, Report, ResolvedPackage } from '../../src/types';
import type { BunPackage } from './packages';

export interface BunAdvisory {
  level: 'fatal' | 'warn';
  package: string;
  url: string | null;
  description: string | null;
}

export interface BunScanner {
  version: '1';
  scan(info: { packages: BunPackage[] }): Promise<BunAdvisory[]>;
}

export interface ScannerDependencies {
  createGuard(options: GuardOptions): Promise<Guard>;
  failureMode(options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Mode>;
  resolve(packages: readonly BunPackage[], cwd: string, env: NodeJS.ProcessEnv): Promise<ResolvedPackage[]>;
  cwd?: () => string;
  env?: NodeJS.ProcessEnv;
  write?: (text: string) => void;
  /** Whether Bun can prompt about warnings (default: stdin and stdout are terminals). */
  interactive?: () => boolean;
  /** Stored verdicts (verdict-reuse.ts); absent: every scan evaluates. */
  reuse?: ScanReuse;
}

export interface ScanReuse {
  /** The stored passing report for exactly these packages and the config it was made under, if any. */
  reused(packages: readonly BunPackage[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ report: Report; inputs: { config: Guard['config'] } } | undefined>;
  /** Stores (or, for a block, removes) the result of a scan that evaluated. */
  store(packages: readonly BunPackage[], resolved: readonly ResolvedPackage[], report: Report, cwd: string, env: NodeJS.ProcessEnv): void;
}

/** Every line escaped: names, versions and messages come from lockfiles, feeds and registries. */
function safe(text: string): string {
  return text.split('\n').map(escapeControl).join('\n');
}

function advisory(result: PackageResult, level: 'fatal' | 'warn'): BunAdvisory {
  const severity = level === 'fatal' ? 'block' : 'warn';
  const lines = result.findings.filter((f) => f.severity === severity).map((f) => `[${f.rule}] ${f.message}`);
  return { level, package: safe(result.name), url: null, description: safe(`provenance-guard: ${result.name}@${result.version}: ${lines.join('; ')}`) };
}

function advisories(report: Report, interactive: boolean, write: (text: string) => void): BunAdvisory[] {
  const blocked = report.packages.filter((p) => p.verdict === 'block');
  const warned = report.packages.filter((p) => p.verdict === 'warn');
  if (blocked.length > 0) write(safe(blockedSummary(report, { severity: 'block' })) + '\n');
  if (warned.length > 0) write(safe(blockedSummary(report, { severity: 'warn' })) + '\n');
  return [...blocked.map((r) => advisory(r, 'fatal')), ...(interactive ? warned.map((r) => advisory(r, 'warn')) : [])];
}

export function createBunScanner(deps: ScannerDependencies): BunScanner {
  const write = deps.write ?? ((text: string) => void process.stderr.write(text));
  const interactive = deps.interactive ?? (() => process.stdin.isTTY === true && process.stdout.isTTY === true);

  async function openGuard(cwd: string, env: NodeJS.ProcessEnv): Promise<Guard | undefined> {
    try {
      const guard = await deps.createGuard({ cwd, env });
      write(`${configLine(guard.config)}\n`);
      if (guard.config.mode !== 'off') return guard;
      guard.close();
      return undefined;
    } catch (error) {
      const mode = await deps.failureMode({ cwd, env }).catch((): Mode => 'block');
      const message = errorText(error);
      if (mode === 'off') return undefined;
      if (mode === 'warn') {
        write(`provenance-guard: ${message}\nprovenance-guard: warn mode: continuing without checking packages\n`);
        return undefined;
      }
      throw new Error(`provenance-guard: ${message}\nprovenance-guard fails closed in block mode: fix the problem above (or set mode: warn) and retry.`);
    }
  }

  return {
    version: '1',
    async scan({ packages }) {
      const started = performance.now();
      const cwd = deps.cwd?.() ?? process.cwd();
      const env = deps.env ?? process.env;
      const timing = (note: string) => {
        if (env.PROVENANCE_GUARD_TIMING === '1') write(`provenance-guard timing: scanner ${(performance.now() - started).toFixed(1)} ms for ${packages.length} packages, process uptime ${(process.uptime() * 1000).toFixed(0)} ms${note}\n`);
      };
      const reused = await deps.reuse?.reused(packages, cwd, env).catch(() => undefined);
      if (reused) {
        write(`${configLine(reused.inputs.config)}\n`);
        timing(', verdict reused');
        return advisories(reused.report, interactive(), write);
      }
      const guard = await openGuard(cwd, env);
      if (!guard) return [];
      try {
        const resolved = await deps.resolve(packages, cwd, env);
        const report = buildReport(await guard.evaluate(resolved));
        try {
          deps.reuse?.store(packages, resolved, report, cwd, env);
        } catch {
          // Storing is only an optimisation: the next scan evaluates again.
        }
        return advisories(report, interactive(), write);
      } finally {
        guard.close();
        timing('');
      }
    },
  };
}
