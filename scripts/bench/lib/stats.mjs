/** The middle value (the upper one of the two middle values for an even count). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** What the guard adds to a run, as a percentage of the run without it: `+5.8 %`, `−1.7 %`. */
export function percentAdded(plain, guard) {
  return `${guard >= plain ? '+' : '−'}${(Math.abs(guard / plain - 1) * 100).toFixed(1)} %`;
}

/** What the guard adds to a run, in seconds: `+0.27 s`, `−0.05 s`. */
export function secondsAdded(plain, guard) {
  return `${guard >= plain ? '+' : '−'}${(Math.abs(guard - plain) / 1000).toFixed(2)} s`;
}
