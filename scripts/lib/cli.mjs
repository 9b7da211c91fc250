// @ts-check
// Command-line flags of the step scripts and of all.mjs. Small on purpose: every
// script takes --help, --dry-run, --transcript and --verbose; a few take more.
import { parseArgs as nodeParseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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
  // Node splits the words; strict off, so that every word is judged below, with our messages.
  const { tokens } = nodeParseArgs({
    args: argv, strict: false, allowPositionals: true, tokens: true,
    options: Object.fromEntries([...valueFlags].map((v) => [v, { type: /** @type {const} */ ('string') }])),
  });
  for (const token of tokens) {
    const arg = argv[token.index];
    if (token.kind === 'option-terminator') throw new UsageError(`unknown argument: ${arg} (see --help)`);
    const long = token.kind === 'option' && token.rawName.startsWith('--');
    // A short option must be the whole word (-h, -v), not a group (-hv).
    const name = long ? token.name : token.kind === 'positional' ? token.value : arg;
    if (arg === '-h' || name === 'help') parsed.help = true;
    else if (name === 'dry-run') parsed.dryRun = true;
    else if (name === 'transcript') parsed.transcript = true;
    else if (arg === '-v' || name === 'verbose') parsed.verbose = true;
    else if (long && extraFlags.has(name)) parsed.flags.add(name);
    else if (long && valueFlags.has(name)) {
      const value = token.value;
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
 * --help of a script that is not a step: its header comment, how to run it, and where settings come from.
 * @param {string} fileUrl the script's import.meta.url
 * @param {string} usage e.g. "npm run status [-- --verbose]   (or node scripts/status.mjs)"
 */
export function scriptHelp(fileUrl, usage) {
  return `${headerComment(readFileSync(fileURLToPath(fileUrl), 'utf8'))}\n\nUsage: ${usage}\n\n` +
    'Settings come from .env (or the file RUNBOOK_ENV names); see env.example.';
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
