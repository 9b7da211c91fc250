// @ts-check
import test from 'ava';
import { parseArgs, UsageError } from '../../scripts/lib/cli.mjs';

const allowed = { flags: ['yes'], values: ['from', 'only'] };
/** The UsageError's message for these words, or null when they are accepted. @param {string[]} argv */
function refusal(argv) {
  try { parseArgs(argv, allowed); } catch (e) { if (e instanceof UsageError) return e.message; throw e; }
  return null;
}

test('flags, short forms and values, inline or as the next word', (t) => {
  const a = parseArgs(['-h', '-v', '--dry-run', '--yes', '--from', '04', '--only=07'], allowed);
  t.true(a.help && a.verbose && a.dryRun);
  t.deepEqual([...a.flags], ['yes']);
  t.deepEqual([...a.values], [['from', '04'], ['only', '07']]);
});

test('refusals keep their words: groups, unknowns, --, missing values, dry-run with transcript', (t) => {
  t.is(refusal(['-hv']), 'unknown argument: -hv (see --help)');
  t.is(refusal(['--foo=bar']), 'unknown argument: --foo=bar (see --help)');
  t.is(refusal(['--', '--help']), 'unknown argument: -- (see --help)');
  t.is(refusal(['stray']), 'unknown argument: stray (see --help)');
  t.is(refusal(['--from']), '--from needs a value');
  t.is(refusal(['--from', '--only', '07']), '--from needs a value');
  t.is(refusal(['--dry-run', '--transcript']), '--dry-run and --transcript exclude each other');
  t.is(refusal(['--yes', '--keep-down']), 'unknown argument: --keep-down (see --help)');
});
