// @ts-check
// Command-line flags of the step scripts and of all.mjs. Small on purpose: every
// script takes --help, --dry-run, --transcript and --verbose; a few take more.

export class UsageError extends Error {}

/**
 * @typedef {{ help: boolean, dryRun: boolean, transcript: boolean, verbose: boolean,
 *   flags: Set<string>, values: Map<string, string> }} ParsedArgs
 */

/**
 * @param {string[]} argv
 * @param {{ flags?: string[], values?: string[] }} [allowed] extra boolean flags and flags with a value (without --)
 * @returns {ParsedArgs}
 */
export function parseArgs(argv, allowed = {}) {
  /** @type {ParsedArgs} */
  const parsed = { help: false, dryRun: false, transcript: false, verbose: false, flags: new Set(), values: new Map() };
  const extraFlags = new Set(allowed.flags ?? []);
  const valueFlags = new Set(allowed.values ?? []);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inline] = arg.startsWith('--') ? arg.slice(2).split(/=(.*)/s, 2) : [arg, undefined];
    if (arg === '-h' || name === 'help') parsed.help = true;
    else if (name === 'dry-run') parsed.dryRun = true;
    else if (name === 'transcript') parsed.transcript = true;
    else if (arg === '-v' || name === 'verbose') parsed.verbose = true;
    else if (arg.startsWith('--') && extraFlags.has(name)) parsed.flags.add(name);
    else if (arg.startsWith('--') && valueFlags.has(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      parsed.values.set(name, value);
    } else {
      throw new UsageError(`unknown argument: ${arg} (see --help)`);
    }
  }
  if (parsed.dryRun && parsed.transcript) throw new UsageError('--dry-run and --transcript exclude each other');
  return parsed;
}

/**
 * The leading comment block of a script, as plain text: a step's --help is its
 * own header, so the two can never disagree.
 * @param {string} source
 */
export function headerComment(source) {
  const m = /\/\*\*?([\s\S]*?)\*\//.exec(source);
  if (!m) return '';
  return m[1].split('\n').map((l) => l.replace(/^\s*\* ?/, '')).join('\n').trim();
}
