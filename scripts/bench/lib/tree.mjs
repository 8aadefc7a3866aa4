// The generated package tree the install benchmarks publish and install.

/** Package i of `count` in `scope`: the first tenth are the root's dependencies; each of those depends on 9 of the rest. */
export function benchTree(scope, count) {
  const top = Math.ceil(count / 10);
  const packages = [];
  for (let i = 0; i < count; i++) {
    const dependencies = {};
    if (i < top) for (let j = top + i * 9; j < Math.min(count, top + i * 9 + 9); j++) dependencies[`${scope}/p${j}`] = '^1.0.0';
    packages.push({ name: `${scope}/p${i}`, version: '1.0.0', dependencies });
  }
  return { packages, root: Object.fromEntries(packages.slice(0, top).map((p) => [p.name, '^1.0.0'])) };
}
