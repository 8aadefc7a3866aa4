const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** The longest duration accepted anywhere (100 years): beyond it dates stop being representable. */
export const MAX_DURATION = 36_500 * 86_400_000;

/** Parses `90s`, `15m`, `12h`, `7d`, `2w` (or `1500ms`) into milliseconds; undefined if malformed or over MAX_DURATION. */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(text);
  if (!match) return undefined;
  const ms = Math.round(Number(match[1]) * UNITS[match[2]!]!);
  return Number.isSafeInteger(ms) && ms <= MAX_DURATION ? ms : undefined;
}

export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = UNITS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
