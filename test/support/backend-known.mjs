// @ts-check
// The differences between the twin's and the real backend's end state that
// stay, each with why (the README lists them too). Any other difference the
// comparison in test/real/runbook.test.mjs finds is the twin being wrong.

/**
 * @typedef {object} KnownDifference
 * @property {(row: string[]) => boolean} match a row [object, field, twin, real] of backend-diff.mjs
 * @property {string} why
 */

/** @type {KnownDifference[]} */
export const KNOWN_DIFFERENCES = [];
