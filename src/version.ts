// A named import: the bundles keep only this field of package.json, not the whole manifest.
import { version } from '../package.json';

export const VERSION: string = version;
