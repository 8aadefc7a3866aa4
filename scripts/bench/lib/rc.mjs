// The block-mode policy the install benchmarks give the guard (every generated package passes it).
export function benchRc({ feedPath, publicKey, minScore = 5, exclude = [] }) {
  return ['mode: block', 'feed:', `  source: ${JSON.stringify(feedPath)}`, `  publicKeys: ["${publicKey}"]`, '  maxAge: 30d', '  offline: true',
    'rules:', '  repository: { require: claimed }', '  rebuild: { require: reproducible }', `  scorecard: { minScore: ${minScore} }`, 'unknown: block',
    ...(exclude.length ? [`exclude: ${JSON.stringify(exclude)}`] : []), ''].join('\n');
}
