// @ts-check
// Env-file names that look like the runbook's but are not known: usually a typo,
// which would otherwise silently leave the default in place.
import { DEFAULTS, VARIABLES, OUR_PREFIXES } from './config-table.mjs';

/** @typedef {import('./types.d.ts').ConfigProblem} ConfigProblem */

/**
 * Levenshtein distance.
 * @param {string} a
 * @param {string} b
 */
export function editDistance(a, b) {
  /** @type {number[]} */
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The known variable nearest to a name, by edit distance (ties: first in order).
 * @param {string} name
 */
export function nearestVariable(name) {
  let best = VARIABLES[0];
  let bestDistance = Infinity;
  for (const known of VARIABLES) {
    const d = editDistance(name.toUpperCase(), known);
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return { name: best, distance: bestDistance };
}

/**
 * A problem for each unknown name that looks like ours: it has one of our
 * prefixes, or it is a typo or two away from a known name (CLUSTR_A_NAME).
 * @param {Iterable<string>} names
 * @returns {ConfigProblem[]}
 */
export function findUnknownVariables(names) {
  /** @type {ConfigProblem[]} */
  const problems = [];
  for (const name of names) {
    if (Object.hasOwn(DEFAULTS, name)) continue;
    const upper = name.toUpperCase();
    const near = nearestVariable(name);
    const typo = near.distance <= Math.min(3, Math.floor(near.name.length / 5));
    if (!typo && !OUR_PREFIXES.some((p) => upper.startsWith(p))) continue;
    let message = `unknown variable ${name}, so it has no effect`;
    if (upper === near.name) message += `; did you mean ${near.name}? (names are upper case)`;
    else if (near.distance <= Math.max(3, Math.ceil(near.name.length / 3))) message += `; did you mean ${near.name}?`;
    else message += ' (env.example lists every variable)';
    problems.push({ variable: name, message });
  }
  return problems;
}
