import path from 'node:path';
import {fileURLToPath} from 'node:url';

/** The repository root (tests run from build/__tests__, compiled). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const DIST = path.join(ROOT, 'dist', 'index.js');
export const EXAMPLE_BUILDPACK = path.join(ROOT, 'examples', 'hello-buildpack');
export const EXAMPLE_APP = path.join(ROOT, 'examples', 'hello-app');
