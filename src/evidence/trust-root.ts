/**
 * The Sigstore trust root (Fulcio CAs, Rekor and CT log keys) that npm provenance bundles
 * are verified against. `tuf` refreshes it through Sigstore's TUF repository (its metadata kept
 * in the state directory: the cached root.json is the trusted root the next refresh starts
 * from, so it must not come from a restorable cache) and falls back to the copy shipped inside @sigstore/tuf when the TUF
 * mirror cannot be reached; `bundled` uses only that shipped copy (no network);
 * `{ path }` reads a trusted_root.json.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrustMaterial } from '@sigstore/verify';

export type TrustedRootSource = 'tuf' | 'bundled' | { path: string };

export interface TrustRootOptions {
  source: TrustedRootSource;
  /** paths.ts stateDir: where the TUF metadata (the trusted root.json) is kept. */
  stateDir?: string;
  timeout: number;
  /** TUF mirror; default Sigstore's public-good instance. */
  tufMirrorURL?: string;
}

export interface LoadedTrustMaterial {
  material: TrustMaterial;
  /** Set when the live trust root could not be refreshed and the shipped one is used. */
  warning?: string;
}

const PUBLIC_GOOD_TUF = 'https://tuf-repo-cdn.sigstore.dev';

function toMaterial(json: unknown): TrustMaterial {
  const { TrustedRoot } = require('@sigstore/protobuf-specs') as typeof import('@sigstore/protobuf-specs');
  const { toTrustMaterial } = require('@sigstore/verify') as typeof import('@sigstore/verify');
  return toTrustMaterial(TrustedRoot.fromJSON(json));
}

/** The trusted_root.json that ships, TUF-seeded, inside @sigstore/tuf. */
export function bundledTrustedRoot(): unknown {
  const seeds = require('@sigstore/tuf/seeds.json') as Record<string, { targets?: Record<string, string> }>;
  const target = seeds[PUBLIC_GOOD_TUF]?.targets?.['trusted_root.json'];
  if (!target) throw new Error('@sigstore/tuf ships no trusted_root.json');
  return JSON.parse(Buffer.from(target, 'base64').toString('utf8')) as unknown;
}

export async function loadTrustMaterial(options: TrustRootOptions): Promise<LoadedTrustMaterial> {
  const source = options.source;
  if (source === 'bundled') return { material: toMaterial(bundledTrustedRoot()) };
  if (typeof source === 'object') {
    return { material: toMaterial(JSON.parse(readFileSync(source.path, 'utf8')) as unknown) };
  }
  try {
    const tuf = require('@sigstore/tuf') as typeof import('@sigstore/tuf');
    const root = await tuf.getTrustedRoot({
      mirrorURL: options.tufMirrorURL ?? PUBLIC_GOOD_TUF,
      ...(options.stateDir ? { cachePath: join(options.stateDir, 'sigstore-tuf') } : {}),
      timeout: options.timeout,
      retry: { retries: 1 },
    });
    const { toTrustMaterial } = require('@sigstore/verify') as typeof import('@sigstore/verify');
    return { material: toTrustMaterial(root) };
  } catch (error) {
    return {
      material: toMaterial(bundledTrustedRoot()),
      warning: `sigstore: could not refresh the trust root from ${options.tufMirrorURL ?? PUBLIC_GOOD_TUF} (${error instanceof Error ? error.message : String(error)}); using the one shipped with @sigstore/tuf`,
    };
  }
}
