/** Builds an npm-style package tarball (files under `package/`) in memory. */
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tar from 'tar';

export async function pack(files: Record<string, string | Buffer>): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'pg-pack-'));
  try {
    for (const [path, content] of Object.entries(files)) {
      const full = join(dir, 'package', path);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
    const out = join(dir, 'out.tgz');
    await tar.create({ gzip: true, cwd: dir, file: out, portable: true, mtime: new Date(0) }, ['package']);
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
