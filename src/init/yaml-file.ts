import { existsSync, readFileSync } from 'node:fs';
import { Document, isMap, parseDocument } from 'yaml';
import { ConfigError } from '../errors';

/** A YAML settings file (pnpm-workspace.yaml, .yarnrc.yml) as an editable document that keeps comments. */
export function readYamlMapping(path: string): Document {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const doc = text.trim() === '' ? new Document({}) : parseDocument(text);
  if (doc.errors.length > 0) throw new ConfigError(`${path}: invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`, { file: path, code: 'ERR_PG_CONFIG_INVALID' });
  if (!isMap(doc.contents)) throw new ConfigError(`${path}: expected a mapping at the top level`, { file: path, code: 'ERR_PG_CONFIG_INVALID' });
  return doc;
}
