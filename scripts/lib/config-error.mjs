// @ts-check
// How settings problems are reported: one "VARIABLE: what is wrong" line each.

/** @typedef {import('./types.d.ts').ConfigProblem} ConfigProblem */

export class ConfigError extends Error {
  /**
   * @param {ConfigProblem[]} problems
   * @param {string} [source] where the settings came from, for the first line
   */
  constructor(problems, source) {
    const n = problems.length;
    const head = `The runbook's settings have ${n} problem${n === 1 ? '' : 's'}${source ? ` (${source})` : ''}:`;
    super(`${head}\n${formatProblems(problems)}`);
    this.name = 'ConfigError';
    /** @type {ConfigProblem[]} */
    this.problems = problems;
  }
}

/**
 * One line per problem: "VARIABLE: what is wrong".
 * @param {readonly ConfigProblem[]} problems
 */
export function formatProblems(problems) {
  return problems.map((p) => `${p.variable}: ${p.message}`).join('\n');
}
