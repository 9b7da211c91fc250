// @ts-check
// Reads variables through the settings table, recording each problem once and in
// the order the checks ask for the values (the order the messages appear in).
import { BY_NAME } from './config-table.mjs';
import { q } from './config-parsers.mjs';

/** @typedef {import('./types.d.ts').ConfigProblem} ConfigProblem */

/**
 * @param {Record<string, string | undefined>} vars values by name; a missing name takes its default
 * @param {ConfigProblem[]} problems where problems go
 */
export function createReader(vars, problems) {
  /** @param {string} variable @param {string} message */
  const problem = (variable, message) => {
    problems.push({ variable, message });
  };

  /** @type {Map<string, string>} */
  const seen = new Map();
  /**
   * The text of a variable: the default when not given, trimmed otherwise (with a
   * problem when it had whitespace around it); '' when empty.
   * @param {string} name
   */
  const value = (name) => {
    const known = seen.get(name);
    if (known !== undefined) return known;
    const raw = vars[name];
    let v = BY_NAME.get(name)?.default ?? '';
    if (raw !== undefined) {
      v = raw.trim();
      if (v !== '' && v !== raw) {
        problem(name, `${q(raw)} has whitespace at the start or end; remove it (quotes in the env file keep spaces)`);
      }
    }
    seen.set(name, v);
    return v;
  };

  /**
   * The text of a variable that must not be empty unless the table allows it;
   * null (with a problem) when it is.
   * @param {string} name
   */
  const required = (name) => {
    const v = value(name);
    const setting = BY_NAME.get(name);
    if (v === '' && !setting?.empty) {
      problem(name, `is empty; give it a value, or leave it out entirely to use the default (${setting?.default})`);
      return null;
    }
    return v;
  };

  /**
   * A variable's value as its table parser makes it; null when empty (and not
   * allowed to be) or unusable, with the problem recorded.
   * @param {string} name
   * @returns {any}
   */
  const read = (name) => {
    const v = required(name);
    if (v === null) return null;
    const setting = BY_NAME.get(name);
    if (!setting) throw new Error(`${name} is not in the settings table`);
    return setting.parse(v, (message) => problem(name, message));
  };

  return { problem, value, required, read };
}

/** @typedef {ReturnType<typeof createReader>} Reader */
