// provenance-guard pnpm hook. Kept this small and stable on purpose: pnpm hashes this file
// into pnpm-lock.yaml (pnpmfileChecksum), and upgrading provenance-guard must not change it.
// Fails closed when provenance-guard is not installed; bootstrap a fresh clone with the
// config dependency (`provenance-guard init --pm pnpm`) or PROVENANCE_GUARD_MODE=off.
let hooks;
try {
  hooks = require('provenance-guard/pnpmfile');
} catch (error) {
  if (process.env.PROVENANCE_GUARD_MODE !== 'off') throw new Error(`provenance-guard is not installed, so this install cannot be checked (${error.code || error.message}). Use the config dependency pnpm-plugin-provenance-guard, or set PROVENANCE_GUARD_MODE=off for this one install.`);
}
module.exports = hooks || {};
