// A throwaway local npm registry (verdaccio, no uplinks: fully offline) and a publisher that
// sends the same PUT body `npm publish` does.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export async function startRegistry(dir) {
  const config = join(dir, 'verdaccio.yaml');
  writeFileSync(config, [
    `storage: ${join(dir, 'storage')}`, 'uplinks: {}', 'packages:', "  '**':", '    access: $all', '    publish: $anonymous $all',
    'web:', '  enable: false', 'log: { type: stdout, format: pretty, level: fatal }', 'max_body_size: 100mb', '',
  ].join('\n'));
  const app = await require('verdaccio').runServer(config);
  const server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function pack(files) {
  const tar = require('tar');
  const dir = mkdtempSync(join(tmpdir(), 'pg-demo-pack-'));
  try {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, 'package', path)), { recursive: true });
      writeFileSync(join(dir, 'package', path), content);
    }
    await tar.create({ gzip: true, cwd: dir, file: join(dir, 'out.tgz'), portable: true, mtime: new Date(0) }, ['package']);
    return readFileSync(join(dir, 'out.tgz'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function publish(registryUrl, manifest, files = {}) {
  const data = await pack({ 'package.json': JSON.stringify(manifest, null, 2) + '\n', 'index.js': `module.exports = ${JSON.stringify(manifest.name)};\n`, ...files });
  const integrity = 'sha512-' + createHash('sha512').update(data).digest('base64');
  const filename = `${manifest.name.split('/').pop()}-${manifest.version}.tgz`;
  const body = {
    _id: manifest.name, name: manifest.name, 'dist-tags': { latest: manifest.version },
    versions: { [manifest.version]: { ...manifest, _id: `${manifest.name}@${manifest.version}`, dist: { integrity, shasum: createHash('sha1').update(data).digest('hex'), tarball: `${registryUrl}/${manifest.name}/-/${filename}` } } },
    _attachments: { [filename]: { content_type: 'application/octet-stream', data: data.toString('base64'), length: data.length } },
  };
  const res = await fetch(`${registryUrl}/${manifest.name.replace('/', '%2f')}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`publishing ${manifest.name} failed: ${res.status} ${await res.text()}`);
  return integrity;
}
