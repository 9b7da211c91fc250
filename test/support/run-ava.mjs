// @ts-check
// `npm test`'s last part: runs ava with the given arguments, passes its output
// through, and closes with one line CI can read: "N passed, N failed" (ava's
// own summary leaves the passed count out when some test failed). Failed is
// ava's own count; passed is ava's when it prints one, else its test lines
// ("  ✔ e2e › resume › title") before its summary. A failure's message may hold
// lines like "✔ 01 …" (a run's output): in a run of several files only lines
// whose title has a file prefix count. The whole run has a deadline (scaled by
// the time factor), past which ava is stopped, saying so.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describeDeadline, scaled } from './time.mjs';

const LIMIT = scaled(40 * 60_000);
const cli = fileURLToPath(new URL('../../node_modules/ava/entrypoints/cli.mjs', import.meta.url));
const child = spawn(process.execPath, [cli, ...process.argv.slice(2)], { stdio: ['inherit', 'pipe', 'inherit'] });

let prefixed = 0;
let plainPassed = 0;
let failedLines = 0;
let inSummary = false;
/** @type {{ passed?: number, failed?: number }} */
const ava = {};
let partial = '';
const plain = (/** @type {string} */ s) => s.replace(/\x1b\[[0-9;]*m/g, ''); // eslint-disable-line no-control-regex

/** @param {string} line */
function count(line) {
  const l = plain(line);
  if (/^─$/.test(l.trim())) inSummary = true; // ava's rule between test lines and failure details
  let m;
  if ((m = /^\s*(\d+) tests? passed/.exec(l))) ava.passed = Number(m[1]);
  if ((m = /^\s*(\d+) tests? failed/.exec(l))) ava.failed = Number(m[1]);
  if (inSummary) return;
  if (/^ {2}✔ [^\s›[]+ › /.test(l)) prefixed++;
  else if (/^ {2}✔ (?!\[expected fail\])/.test(l)) plainPassed++;
  else if (/^ {2}✘ \[(fail|unexpected pass)\]:/.test(l)) failedLines++;
}

child.stdout.setEncoding('utf8').on('data', (/** @type {string} */ d) => {
  process.stdout.write(d);
  const lines = (partial + d).split('\n');
  partial = lines.pop() ?? '';
  for (const line of lines) count(line);
});

const timer = setTimeout(() => {
  console.error(`\nava stopped by run-ava.mjs: still running after ${describeDeadline(LIMIT)}`);
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
}, LIMIT);
// Ctrl-C reaches ava from the terminal itself (same process group): only stay alive for its summary.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));

child.on('close', (code, signal) => {
  clearTimeout(timer);
  if (partial) count(partial);
  const p = ava.passed ?? (prefixed || plainPassed);
  const f = ava.failed ?? failedLines;
  console.log(`${p} passed, ${f} failed`);
  process.exitCode = code ?? (signal ? 1 : 0);
  if (code === 0 && f > 0) process.exitCode = 1;
});
