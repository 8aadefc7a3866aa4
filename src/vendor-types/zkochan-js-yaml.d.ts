/**
 * The part of @zkochan/js-yaml (pnpm's fork of js-yaml 4, the parser pnpm reads pnpm-lock.yaml
 * with) that src/lockfile/index.ts uses; the package ships no types.
 */
declare module '@zkochan/js-yaml' {
  export interface Schema {
    readonly __schema: unique symbol;
  }
  export const FAILSAFE_SCHEMA: Schema;
  export function load(text: string, options?: { schema?: Schema; filename?: string; json?: boolean }): unknown;
}
