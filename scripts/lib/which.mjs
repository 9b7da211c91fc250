// @ts-check
// Finds a tool on PATH without starting it, so a missing kubectl or cilium is
// reported before any cluster is touched.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** @param {string} tool @param {string} [path] @returns {string | null} */
export function which(tool, path = process.env.PATH ?? '') {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, tool);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch { /* not here */ }
  }
  return null;
}
