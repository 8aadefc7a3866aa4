/**
 * The verdicts the hooks collected in this process: blocked packages (one error listing them
 * all) and warnings (printed once each, in batches).
 */
import type { PackageResult } from '../../src/types';
import { blockedError, shortBlockedError, summary } from './messages';

export class VerdictLog {
  private readonly blocked = new Map<string, PackageResult>();
  private readonly pendingWarnings = new Map<string, PackageResult>();
  private readonly warned = new Set<string>();
  /** Warnings about a package under a key it may not be installed under (hooks.ts), until the resolution says. */
  private readonly tentative = new Map<string, PackageResult>();
  private detailsPrinted = 0;

  /** detailsOnStderr: pnpm 12 repeats a hook error twice, so the details go to stderr once and the error stays short. */
  constructor(private readonly write: (text: string) => void, private readonly detailsOnStderr: boolean) {}

  remember(result: PackageResult): void {
    const id = `${result.name}@${result.version}`;
    if (result.verdict === 'block') this.blocked.set(id, result);
    else if (result.verdict === 'warn' && !this.warned.has(id)) {
      this.warned.add(id);
      this.pendingWarnings.set(id, result);
    }
  }

  /**
   * A result under one of several keys a dist-less package may be installed under: a block
   * counts at once (fail closed); a warning waits for settle(), which replaces it with what the
   * resolution shows, or is printed with the last flush if settle() never comes.
   */
  rememberTentative(result: PackageResult): void {
    if (result.verdict === 'warn') this.tentative.set(`${result.name}@${result.version}`, result);
    else this.remember(result);
  }

  /** The resolved install named each key's package: held warnings give way to these results. */
  settle(results: readonly PackageResult[]): void {
    this.tentative.clear();
    for (const result of results) this.remember(result);
  }

  get hasBlocks(): boolean {
    return this.blocked.size > 0;
  }

  /** The error to throw for every package blocked so far. */
  failure(): Error {
    const list = [...this.blocked.values()];
    if (!this.detailsOnStderr) return blockedError(list);
    // Concurrent readPackage calls may all fail: print the details once per new finding.
    if (list.length > this.detailsPrinted) {
      this.detailsPrinted = list.length;
      this.write(summary(list, 'block') + '\n');
    }
    return shortBlockedError(list);
  }

  /** Prints the warnings not printed yet; `final` (the process ends): the held ones too. */
  flushWarnings(final = false): void {
    if (final) {
      for (const result of this.tentative.values()) this.remember(result);
      this.tentative.clear();
    }
    if (this.pendingWarnings.size === 0) return;
    const text = summary([...this.pendingWarnings.values()], 'warn');
    this.pendingWarnings.clear();
    if (text) this.write(text + '\n');
  }
}
