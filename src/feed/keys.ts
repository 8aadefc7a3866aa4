import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FeedError } from '../errors';
import { writeFileAtomic } from '../atomic';

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface GeneratedKeyPair {
  privateKeyPath: string;
  publicKeyPath: string;
  /** Base64 of the raw 32-byte public key: the form `feed.publicKeys` takes. */
  publicKey: string;
}

export function rawPublicKey(key: KeyObject): Buffer {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return der.subarray(der.length - 32);
}

/** Writes DIR/feed.key (PKCS8 PEM, 0600) and DIR/feed.pub (base64 raw key). Never overwrites. */
export function generateKeyPair(outDir: string): GeneratedKeyPair {
  const dir = resolve(outDir);
  const privateKeyPath = join(dir, 'feed.key');
  const publicKeyPath = join(dir, 'feed.pub');
  for (const path of [privateKeyPath, publicKeyPath]) {
    if (existsSync(path)) throw new FeedError(`${path} already exists; refusing to overwrite a key`, { file: path, code: 'ERR_PG_FEED_KEY_EXISTS' });
  }
  mkdirSync(dir, { recursive: true });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  // 'wx': fail rather than replace a key another process wrote meanwhile.
  let fd: number;
  try {
    fd = openSync(privateKeyPath, 'wx', 0o600);
  } catch (error) {
    throw new FeedError(`cannot write ${privateKeyPath}: ${(error as Error).message}`, { file: privateKeyPath, cause: error, code: 'ERR_PG_FEED_KEY_WRITE' });
  }
  try {
    writeSync(fd, pem);
  } finally {
    closeSync(fd);
  }
  const printed = rawPublicKey(publicKey).toString('base64');
  writeFileAtomic(publicKeyPath, printed + '\n');
  return { privateKeyPath, publicKeyPath, publicKey: printed };
}

/** Accepts the printed form (base64 of the raw 32 bytes) or a PEM public key. */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  // A private key would be accepted by createPublicKey (it derives the public half) and then copied into
  // a committed .provenancerc: refused, whatever its format.
  if (/^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(trimmed)) {
    throw new FeedError('this is a private key (the feed signing key, a secret): give the public key, feed.pub, as printed by `feed keygen`', { code: 'ERR_PG_FEED_KEY_INVALID' });
  }
  if (trimmed.startsWith('-----BEGIN')) {
    let key: KeyObject;
    try {
      key = createPublicKey(trimmed);
    } catch (error) {
      throw new FeedError(`not a valid PEM public key: ${(error as Error).message}`, { cause: error, code: 'ERR_PG_FEED_KEY_INVALID' });
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new FeedError(`public key is ${key.asymmetricKeyType ?? 'unknown'}, expected ed25519`, { code: 'ERR_PG_FEED_KEY_INVALID' });
    return key;
  }
  if (!/^[A-Za-z0-9+/]{43}=$/.test(trimmed)) {
    throw new FeedError(`not an Ed25519 public key (expected base64 of 32 bytes as printed by \`feed keygen\`, or PEM): ${JSON.stringify(trimmed.slice(0, 60))}`, { code: 'ERR_PG_FEED_KEY_INVALID' });
  }
  const raw = Buffer.from(trimmed, 'base64');
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** The public key in `path` (feed.pub), checked; a missing file, a directory or text that is no key is a coded error naming the file. */
export function readPublicKeyFile(path: string): string {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) throw new FeedError(`${path}: public key file not found`, { file: path, code: 'ERR_PG_FEED_KEY_NOT_FOUND' });
  if (stat.isDirectory()) throw new FeedError(`${path}: is a directory, not a public key file (feed.pub)`, { file: path, code: 'ERR_PG_FEED_KEY_INVALID' });
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new FeedError(`${path}: cannot read the public key: ${(error as Error).message}`, { file: path, cause: error, code: 'ERR_PG_FEED_KEY_NOT_FOUND' });
  }
  try {
    parsePublicKey(text);
  } catch (error) {
    if (!(error instanceof FeedError)) throw error;
    throw new FeedError(`${path}: ${error.message}`, { file: path, cause: error, code: error.code });
  }
  return text;
}

/** Short, stable identifier of a public key (first 16 hex digits of SHA-256 of the raw key). */
export function keyId(key: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(key)).digest('hex').slice(0, 16);
}

export function readPrivateKey(path: string): KeyObject {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new FeedError(`cannot read private key ${path}: ${(error as Error).message}`, { file: path, cause: error, code: 'ERR_PG_FEED_KEY' });
  }
  return parsePrivateKey(text, path);
}

/** A PEM Ed25519 private key; `where` names its file or environment variable in errors. */
export function parsePrivateKey(text: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch (error) {
    throw new FeedError(`${where} is not a PEM private key: ${(error as Error).message}`, { cause: error, code: 'ERR_PG_FEED_KEY' });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new FeedError(`${where} is a ${key.asymmetricKeyType ?? 'unknown'} key, expected ed25519`, { code: 'ERR_PG_FEED_KEY' });
  return key;
}

/** The private key held (PEM) in environment variable `name`: a CI secret. */
export function privateKeyFromEnv(name: string, env: NodeJS.ProcessEnv): KeyObject {
  const text = env[name];
  if (text === undefined || text.trim() === '') {
    throw new FeedError(`environment variable ${name} is not set or empty (it should hold the PEM private key written by \`feed keygen\`)`, { code: 'ERR_PG_FEED_KEY' });
  }
  return parsePrivateKey(text.replace(/\\n/g, '\n'), `environment variable ${name}`);
}

/** The base64 public key (feed.publicKeys form) of a private key. */
export function publicKeyOf(privateKey: KeyObject): string {
  return rawPublicKey(privateKey).toString('base64');
}
