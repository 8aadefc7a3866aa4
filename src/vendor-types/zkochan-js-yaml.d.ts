/**
 * The part of @zkochan/js-yaml (pnpm's fork of js-yaml 4, the parser pnpm reads pnpm-lock.yaml
 * and pnpm-workspace.yaml with) that src/lockfile/index.ts and src/config/yaml.ts use; the package
 * ships no types.
 */
declare module '@zkochan/js-yaml' {
  export interface Schema {
    readonly __schema: unique symbol;
  }
  export const FAILSAFE_SCHEMA: Schema;
  export const CORE_SCHEMA: Schema;
  export class YAMLException extends Error {
    readonly reason: string;
    readonly mark?: { readonly line: number; readonly column: number };
  }
  export function load(text: string, options?: { schema?: Schema; filename?: string; json?: boolean }): unknown;
}
