/**
 * Whether this process runs on Bun. Bun reports itself as Node (`process.release.name` is 'node',
 * `process.versions.node` a Node version) but is not V8 and has none of Node's internal bindings:
 * what depends on those (V8's code cache, Node's zlib binding) asks here.
 */
export function onBun(versions: NodeJS.ProcessVersions = process.versions): boolean {
  return versions.bun !== undefined;
}
