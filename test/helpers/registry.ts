/**
 * A real npm registry for tests: verdaccio on 127.0.0.1, fully local (no uplinks), so a
 * wrong name fails instead of reaching a real package. Fixture packages are published with
 * the same PUT body `npm publish` sends.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from './tarball';

export interface FixturePackage {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
  repository?: unknown;
  /** Extra manifest fields. */
  manifest?: Record<string, unknown>;
  /** Extra files, path → content, besides package.json and index.js. */
  files?: Record<string, string | Buffer>;
}

export interface PublishedPackage {
  name: string;
  version: string;
  integrity: string;
  shasum: string;
  tarball: string;
}

export interface TestRegistry {
  url: string;
  port: number;
  /** verdaccio's storage folder (a test may tamper with a stored tarball: a compromised registry or mirror). */
  storage: string;
  publish(pkg: FixturePackage): Promise<PublishedPackage>;
  close(): Promise<void>;
}

export async function startRegistry(): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'pg-registry-'));
  const configPath = join(dir, 'config.yaml');
  writeFileSync(
    configPath,
    [
      `storage: ${join(dir, 'storage')}`,
      'uplinks: {}',
      'packages:',
      "  '**':",
      '    access: $all',
      '    publish: $anonymous $all',
      '    unpublish: $anonymous $all',
      'web:',
      '  enable: false',
      'log: { type: stdout, format: pretty, level: fatal }',
      'max_body_size: 100mb',
      '',
    ].join('\n'),
  );
  const { runServer } = require('verdaccio') as { runServer: (config: string) => Promise<{ listen: (port: number, host: string, cb: () => void) => Server }> };
  const app = await runServer(configPath);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  async function publish(pkg: FixturePackage): Promise<PublishedPackage> {
    const manifest: Record<string, unknown> = {
      name: pkg.name,
      version: pkg.version,
      main: 'index.js',
      license: 'MIT',
      ...(pkg.dependencies ? { dependencies: pkg.dependencies } : {}),
      ...(pkg.optionalDependencies ? { optionalDependencies: pkg.optionalDependencies } : {}),
      ...(pkg.scripts ? { scripts: pkg.scripts } : {}),
      ...(pkg.repository !== undefined ? { repository: pkg.repository } : {}),
      ...pkg.manifest,
    };
    const files: Record<string, string | Buffer> = {
      'package.json': JSON.stringify(manifest, null, 2) + '\n',
      'index.js': `module.exports = ${JSON.stringify(`${pkg.name}@${pkg.version}`)};\n`,
      ...pkg.files,
    };
    const data = await pack(files);
    const integrity = 'sha512-' + createHash('sha512').update(data).digest('base64');
    const shasum = createHash('sha1').update(data).digest('hex');
    const base = pkg.name.startsWith('@') ? pkg.name.split('/')[1]! : pkg.name;
    const filename = `${base}-${pkg.version}.tgz`;
    const tarball = `${url}/${pkg.name}/-/${filename}`;
    const body = {
      _id: pkg.name,
      name: pkg.name,
      'dist-tags': { latest: pkg.version },
      versions: {
        [pkg.version]: { ...manifest, _id: `${pkg.name}@${pkg.version}`, dist: { integrity, shasum, tarball } },
      },
      _attachments: {
        [filename]: { content_type: 'application/octet-stream', data: data.toString('base64'), length: data.length },
      },
    };
    const res = await fetch(`${url}/${pkg.name.replace('/', '%2f')}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`publish ${pkg.name}@${pkg.version} failed: ${res.status} ${await res.text()}`);
    return { name: pkg.name, version: pkg.version, integrity, shasum, tarball };
  }

  return {
    url,
    port,
    storage: join(dir, 'storage'),
    publish,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}

