import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The program's path: `name` on PATH (or `override` when that is set), or undefined. Shared by
 * `npm test`'s first check (check-test-prerequisites.mjs) and the tests (test/helpers/prerequisites.ts).
 */
export function findProgram(name, override) {
  const candidates = override
    ? [override]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, name));
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {}
  }
  return undefined;
}
