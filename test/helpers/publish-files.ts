/**
 * Publishes a package whose tarball holds exactly `files` (package.json included), with extra
 * packument-only fields (`gitHead`, as `npm publish` adds it to the registry document but not to
 * the tarball), through the same PUT body `npm publish` sends.
 */
import { createHash } from 'node:crypto';
import type { PublishedPackage } from './registry';
import { pack } from './tarball';

export interface FilesPackage {
  files: Record<string, string>;
  /** Fields only in the registry's version document (gitHead, …). */
  metadata?: Record<string, unknown>;
}

export async function publishFiles(registryUrl: string, pkg: FilesPackage): Promise<PublishedPackage> {
  const manifest = JSON.parse(pkg.files['package.json']!) as { name: string; version: string };
  const { name, version } = manifest;
  const data = await pack(pkg.files);
  const integrity = 'sha512-' + createHash('sha512').update(data).digest('base64');
  const shasum = createHash('sha1').update(data).digest('hex');
  const filename = `${name.startsWith('@') ? name.split('/')[1]! : name}-${version}.tgz`;
  const tarball = `${registryUrl}/${name}/-/${filename}`;
  const body = {
    _id: name,
    name,
    'dist-tags': { latest: version },
    versions: { [version]: { ...manifest, ...pkg.metadata, _id: `${name}@${version}`, dist: { integrity, shasum, tarball } } },
    _attachments: { [filename]: { content_type: 'application/octet-stream', data: data.toString('base64'), length: data.length } },
  };
  const res = await fetch(`${registryUrl}/${name.replace('/', '%2f')}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`publish ${name}@${version} failed: ${res.status} ${await res.text()}`);
  return { name, version, integrity, shasum, tarball };
}

/** package.json text as a source repository would hold it. */
export function manifestText(fields: Record<string, unknown>): string {
  return JSON.stringify(fields, null, 2) + '\n';
}
