// An in-process verdaccio for the install benchmarks, and publishing a generated tree to it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** Starts verdaccio on 127.0.0.1 with its storage in dir/storage (kept between runs) and its config in dir. */
export async function startVerdaccio(ctx, dir) {
  const require = createRequire(join(ctx.root, 'package.json'));
  const storage = join(dir, 'storage');
  mkdirSync(storage, { recursive: true });
  const config = join(dir, 'verdaccio.yaml');
  writeFileSync(config, [`storage: ${storage}`, 'uplinks: {}', 'packages:', "  '**':", '    access: $all', '    publish: $anonymous $all',
    'web:', '  enable: false', 'log: { type: stdout, format: pretty, level: fatal }', 'max_body_size: 100mb', ''].join('\n'));
  const app = await require('verdaccio').runServer(config);
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { server, url: `http://127.0.0.1:${server.address().port}` };
}

export async function stopVerdaccio(server) {
  server.closeAllConnections?.();
  await new Promise((resolve) => server.close(resolve));
}

/** A gzipped tarball of `package/package.json` and `package/index.js`, packed in a scratch dir under `packDir`. */
export async function packTarball(ctx, manifest, packDir) {
  const require = createRequire(join(ctx.root, 'package.json'));
  const tar = require('tar');
  const dir = join(packDir, manifest.name.replace('/', '_'));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'package'), { recursive: true });
  writeFileSync(join(dir, 'package', 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(join(dir, 'package', 'index.js'), `module.exports = ${JSON.stringify(manifest.name)};\n`);
  const out = join(dir, 'out.tgz');
  await tar.create({ gzip: true, cwd: dir, file: out, portable: true, mtime: new Date(0) }, ['package']);
  const data = readFileSync(out);
  rmSync(dir, { recursive: true, force: true });
  return data;
}

/** Publishes one generated package (an existing version is fine); returns its integrity. */
export async function publish(ctx, url, pkg, { packDir }) {
  const manifest = { name: pkg.name, version: pkg.version, main: 'index.js', license: 'MIT', dependencies: pkg.dependencies,
    repository: { type: 'git', url: `https://github.com/pg-bench/${pkg.name.split('/')[1]}` } };
  const data = await packTarball(ctx, manifest, packDir);
  const integrity = 'sha512-' + createHash('sha512').update(data).digest('base64');
  const filename = `${pkg.name.split('/')[1]}-${pkg.version}.tgz`;
  const body = {
    _id: pkg.name, name: pkg.name, 'dist-tags': { latest: pkg.version },
    versions: { [pkg.version]: { ...manifest, _id: `${pkg.name}@${pkg.version}`, dist: { integrity, shasum: createHash('sha1').update(data).digest('hex'), tarball: `${url}/${pkg.name}/-/${filename}` } } },
    _attachments: { [filename]: { content_type: 'application/octet-stream', data: data.toString('base64'), length: data.length } },
  };
  const res = await fetch(`${url}/${pkg.name.replace('/', '%2f')}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok && res.status !== 409) throw new Error(`publish ${pkg.name}: ${res.status} ${await res.text()}`);
  return integrity;
}

/**
 * Publishes `packages` in batches of 25 and writes dir/records-<stamp>.ndjson (feed records, all
 * passing) once; the file `dir/stamp` marks it done, so later runs reuse both. Returns the
 * records path.
 */
export async function publishTree(ctx, url, packages, { dir, stamp, packDir }) {
  const stampPath = join(dir, stamp);
  // Named after the stamp: a run with another package count must not reuse these records.
  const recordsPath = join(dir, `records-${stamp}.ndjson`);
  if (!existsSync(stampPath) || !existsSync(recordsPath)) {
    const started = Date.now();
    const records = [];
    for (let i = 0; i < packages.length; i += 25) {
      const batch = packages.slice(i, i + 25);
      const integrities = await Promise.all(batch.map((p) => publish(ctx, url, p, { packDir })));
      batch.forEach((p, k) => records.push({ name: p.name, version: p.version, integrity: integrities[k],
        repository: { url: `https://github.com/pg-bench/${p.name.split('/')[1]}`, commit: 'a'.repeat(40), status: 'claimed' },
        rebuild: { verdict: 'reproducible', source: 'oss-rebuild' }, scorecard: { score: 7.5 } }));
    }
    writeFileSync(recordsPath, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    writeFileSync(stampPath, '');
    ctx.print(`published ${packages.length} packages in ${Date.now() - started} ms`);
  }
  return recordsPath;
}
