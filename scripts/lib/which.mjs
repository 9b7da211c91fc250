// @ts-check
// Finds a tool on PATH without starting it, so a missing kubectl or cilium is
// reported before any cluster is touched: zx's which, answering null when absent.
import { which as zxWhich } from 'zx';

/** @param {string} tool @param {string} [path] @returns {string | null} */
export function which(tool, path = process.env.PATH ?? '') {
  return zxWhich.sync(tool, { nothrow: true, path });
}
