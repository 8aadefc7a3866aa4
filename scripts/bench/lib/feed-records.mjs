// The bench's generated feed records: deterministic (same data every run), shaped like real ones.
import { createHash } from 'node:crypto';

export const VERSIONS_PER_NAME = 4;
export const GENERATOR_VERSION = 1;
export const WORDS = ['core', 'util', 'parse', 'react', 'plugin', 'loader', 'config', 'string', 'array', 'stream', 'http', 'fs', 'path',
  'color', 'date', 'json', 'yaml', 'glob', 'cli', 'test', 'mock', 'lint', 'format', 'types', 'eslint', 'babel', 'vite', 'rollup',
  'webpack', 'postcss', 'node', 'async', 'promise', 'event', 'emitter', 'buffer', 'crypto', 'hash', 'cache', 'store', 'query'];
const CHECKS = ['Binary-Artifacts', 'Branch-Protection', 'CI-Tests', 'Code-Review', 'Dangerous-Workflow', 'Dependency-Update-Tool',
  'Fuzzing', 'License', 'Maintained', 'Packaging', 'Pinned-Dependencies', 'SAST', 'Security-Policy', 'Signed-Releases', 'Token-Permissions', 'Vulnerabilities'];

/** mulberry32: a small deterministic PRNG, so every run generates the same data. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function nameOf(n) {
  const word = WORDS[n % WORDS.length];
  const word2 = WORDS[(n * 7 + 3) % WORDS.length];
  return n % 7 === 0 ? `@scope-${n % 3000}/${word}-${word2}-${n}` : `${word}-${word2}-${n}`;
}

export function versionOf(n, k) {
  const major = (n % 5) + (k === VERSIONS_PER_NAME - 1 ? 1 : 0);
  return k === 2 && n % 11 === 0 ? `${major}.${k}.0-beta.${n % 4}` : `${major}.${k}.${(n * 7 + k) % 20}`;
}

export function integrityOf(name, version) {
  return 'sha512-' + createHash('sha512').update(`${name}@${version}`).digest('base64');
}

export function record(n, k, rand) {
  const name = nameOf(n);
  const version = versionOf(n, k);
  const rec = { name, version, integrity: integrityOf(name, version) };
  const repoUrl = `https://github.com/org-${n % 5000}/${name.replace(/^@[^/]+\//, '')}`;
  const r = rand();
  if (r < 0.85) {
    const status = r < 0.6 ? 'claimed' : r < 0.82 ? 'attested' : 'mismatch';
    rec.repository = { url: repoUrl, commit: createHash('sha1').update(`${n}:${k}`).digest('hex'), status };
    if (status === 'mismatch') rec.repository.attestedUrl = `https://github.com/fork-${n % 97}/${name.replace(/^@[^/]+\//, '')}`;
  }
  if (rand() < 0.4) {
    const v = rand();
    rec.rebuild = { verdict: v < 0.7 ? 'reproducible' : v < 0.85 ? 'not-reproducible' : 'unknown', source: v < 0.5 ? 'oss-rebuild' : 'oss-reproducible' };
  }
  if (rand() < 0.6) {
    const checks = {};
    for (const check of CHECKS) if (rand() < 0.6) checks[check] = Math.floor(rand() * 12) - 1;
    rec.scorecard = { score: Math.round(rand() * 100) / 10, date: '2026-11-01', checks };
  }
  return rec;
}

