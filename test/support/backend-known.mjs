// @ts-check
// The differences between the twin's and the real backend's end state that
// stay, each with why (the README lists them too). Any other difference the
// comparisons in test/real/runbook*.test.mjs find is the twin being wrong.
import { differences, differenceTable } from './backend-diff.mjs';

/**
 * @typedef {object} KnownDifference
 * @property {(row: string[]) => boolean} match a row [object, field, twin, real] of backend-diff.mjs
 * @property {string} why
 */

/** @type {KnownDifference[]} */
export const KNOWN_DIFFERENCES = [];

/**
 * Prints the table of what differs between the two end states (`test:real:`
 * lines, under `label`) and returns the rows no known difference explains.
 * @param {Map<string, Record<string, string>>} twinEnd @param {Map<string, Record<string, string>>} realEnd @param {string} label
 * @returns {string[][]}
 */
export function unknownDifferences(twinEnd, realEnd, label) {
  const rows = differences(twinEnd, realEnd);
  console.log(`test:real: what differs between the twin's and the real backend's end state${label}:\n${differenceTable(rows)}`);
  return rows.filter((r) => !KNOWN_DIFFERENCES.some((d) => d.match(r)));
}
