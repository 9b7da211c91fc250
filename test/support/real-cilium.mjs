// @ts-check
// The cilium CLIs the end-to-end tests run with: the twin's stand-in always,
// and the real cilium CLI when one is built: $RUNBOOK_REAL_CILIUM, else the
// binary `npm run build:cilium` leaves in its cache (cilium-cli.mjs registers a
// test once per CLI). No ava here: e2e.mjs imports it.
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedBinary, pinnedVersion } from '../../tools/build-cilium.mjs';

/**
 * @typedef {object} Cli
 * @property {'stand-in' | 'real'} name
 * @property {string} [bin] the real binary (the stand-in has none: the twin's bin/ serves it)
 */

export const STAND_IN = /** @type {Cli} */ ({ name: 'stand-in' });
export const HOW_TO_BUILD = 'build it with `npm run build:cilium` (Go 1.26+ and a module proxy serving github.com/cilium/cilium-cli), '
  + 'or point RUNBOOK_REAL_CILIUM at a cilium v0.19.x binary';

/** @param {string} file */
const executable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/**
 * The real cilium CLI, or why there is none.
 * @returns {{ cli: Cli, why?: undefined } | { cli?: undefined, why: string }}
 */
export function realCilium() {
  const given = process.env.RUNBOOK_REAL_CILIUM?.trim();
  if (given) {
    return executable(given) ? { cli: { name: 'real', bin: given } } : { why: `RUNBOOK_REAL_CILIUM=${given} is not an executable file` };
  }
  const cached = cachedBinary(pinnedVersion());
  return executable(cached) ? { cli: { name: 'real', bin: cached } } : { why: `no ${cached}` };
}

/**
 * A folder in the twin's own folder holding `cilium`: the real binary run
 * through a shell script that first logs the call as the stand-in does
 * (TWIN_CILIUM_LOG: `{"argv": [...], "pid": N}` a line), then execs the binary
 * (same pid: a deadline's kill reaches it).
 * @param {string} twinDir @param {string} bin
 */
export function realCiliumDir(twinDir, bin) {
  const dir = join(twinDir, 'real-cilium-bin');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const q = (/** @type {string} */ s) => `'${s.replace(/'/g, `'\\''`)}'`;
  const log = 'require("fs").appendFileSync(process.env.TWIN_CILIUM_LOG, JSON.stringify({ argv: process.argv.slice(2), pid: Number(process.argv[1]) }) + "\\n")';
  writeFileSync(join(dir, 'cilium'), [
    '#!/bin/sh',
    `[ -n "$TWIN_CILIUM_LOG" ] && ${q(process.execPath)} -e ${q(log)} "$$" "$@"`,
    `exec ${q(bin)} "$@"`,
    '',
  ].join('\n'), { mode: 0o755 });
  return dir;
}

/**
 * The User-Agent of a CLI's API requests (and its Helm's): the stand-in says
 * cilium-cli/…, the real binary client-go's default, named after the binary.
 * @param {Cli} cli
 */
export const ciliumUserAgent = (cli) => (cli.name === 'real' ? /^cilium\// : /^cilium-cli\//);
