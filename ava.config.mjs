// @ts-check
// ava's settings. The time factor (test/support/time.mjs) is resolved here once,
// at test start, and handed to every worker through the environment; ava's own
// timeout scales with it.
import { cpus } from 'node:os';
import { settleTimeFactor } from './test/support/time.mjs';

const { factor, why } = settleTimeFactor(process.env);
if (factor !== 1) process.stderr.write(`test deadlines × ${factor} (${why})\n`);

export default {
  // test/real needs the real backend built from Go modules: `npm run test:real` runs it (ava.real.config.mjs).
  files: ['test/**/*.test.mjs', '!test/real/**'],
  // ava fails the run when no test has finished for this long. Above the harness's
  // 120 s kill of a run (scaled the same), so a hung run is reported by the harness.
  timeout: `${Math.round(300 * factor)}s`,
  // One test file per core: e2e files run one twin at a time, each with the runbook's processes.
  concurrency: Math.max(1, Math.min(cpus().length, 4)),
};
