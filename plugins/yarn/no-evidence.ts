/**
 * Stands in for src/evidence/index inside the Yarn plugin bundle (scripts/build.mjs aliases
 * it): an install never gathers live evidence (deps.dev, Scorecard, sigstore…) — that is
 * `provenance-guard check --online`. Packages missing from the feed stay unknown; online
 * mode in Yarn only adds the registry's integrity (gate.ts). This keeps the bundle small and
 * every install's network traffic to the registry Yarn already talks to.
 */
import type { gatherEvidence as realGatherEvidence } from '../../src/evidence/index';

export const gatherEvidence: typeof realGatherEvidence = async () => ({ records: [], warnings: [] });
