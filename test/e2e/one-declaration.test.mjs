// @ts-check
// Run, --transcript, --help and the step files tell one story: the transcript
// run in bash on a fresh twin ends where `npm run all` ends; every command a
// run executes is in its step's transcript and written in its step's file;
// --help lists exactly what --transcript prints.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { e2eTwin, runScript, ROOT } from '../support/e2e.mjs';
import { comparableState } from '../support/end-state.mjs';
import { scaled, describeDeadline } from '../support/time.mjs';
import { commandPatterns, stepSections, normaliseRecord } from '../support/declared.mjs';
import { commandLine } from '../../scripts/lib/bash-text.mjs';

/** @typedef {import('../support/e2e.mjs').E2E} E2E */

/**
 * Runs a bash script with the twin's environment to its end, with a deadline.
 * @param {string} file @param {NodeJS.ProcessEnv} env
 * @returns {Promise<{ code: number | null, output: string }>}
 */
function bash(file, env) {
  return new Promise((resolve, reject) => {
    // In the script's own folder: the transcript writes its files (the values files) where it runs.
    const child = spawn('bash', [file], { cwd: dirname(file), env: { ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const limit = scaled(240_000);
    const timer = setTimeout(() => {
      try { process.kill(-(child.pid ?? 0), 'SIGKILL'); } catch { /* gone */ }
      reject(new Error(`bash ${file} killed after ${describeDeadline(limit)}; last output:\n${output.split('\n').slice(-30).join('\n')}`));
    }, limit);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, output }); });
  });
}

/** The exec log: step id and argv of each command a run executed. @param {string} file */
const execLog = (file) => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => {
  const [id, argv] = l.split('\t');
  return /** @type {[string, string[]]} */ ([id, JSON.parse(argv)]);
});

/** A state two runs can be compared by, the drill's record (a time and a measurement) reduced to "passed". @param {E2E} h */
const endOf = (h) => JSON.parse(normaliseRecord(JSON.stringify(comparableState(h))));

test.serial('the transcript, run in bash on a fresh twin, ends where npm run all ends', async (t) => {
  const byRun = await e2eTwin(t);
  const run = await byRun.run('all.mjs');
  t.is(run.code, 0, run.output);

  const byBash = await e2eTwin(t);
  const printed = await byBash.run('all.mjs', ['--transcript']);
  t.is(printed.code, 0, printed.output);
  const dir = mkdtempSync(join(tmpdir(), 'clustermesh-transcript-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'runbook.sh');
  writeFileSync(file, printed.stdout);
  const ran = await bash(file, byBash.env);
  t.is(ran.code, 0, `bash ${file} failed:\n${ran.output.split('\n').slice(-40).join('\n')}`);
  t.deepEqual(endOf(byBash), endOf(byRun));
});

test.serial('every command a run and the teardown execute is in its step\'s transcript and written in its step\'s file', async (t) => {
  const h = await e2eTwin(t);
  const log = join(h.twin.dir, 'exec.log');
  const run = await h.run('all.mjs', [], { env: { RUNBOOK_EXEC_LOG: log } });
  t.is(run.code, 0, run.output);
  const teardown = await h.run('10-teardown.mjs', ['--yes'], { env: { RUNBOOK_EXEC_LOG: log } });
  t.is(teardown.code, 0, teardown.output);
  const printed = await h.run('all.mjs', ['--transcript']);
  t.is(printed.code, 0, printed.output);
  const printed10 = await h.run('10-teardown.mjs', ['--transcript']);
  t.is(printed10.code, 0, printed10.output);
  const sections = new Map([...stepSections(printed.stdout), ...stepSections(printed10.stdout)]);
  const files = readdirSync(join(ROOT, 'scripts')).filter((f) => /^\d\d-.+\.mjs$/.test(f));
  const executed = execLog(log);
  t.true(executed.length > 20, `the run logged ${executed.length} commands`);
  /** @type {string[]} */
  const missing = [];
  for (const [id, argv] of executed) {
    const line = commandLine(argv[0], argv.slice(1));
    const section = sections.get(id) ?? '';
    if (!normaliseRecord(section).includes(normaliseRecord(line))) missing.push(`step ${id} transcript lacks: ${line}`);
    const file = files.find((f) => f.startsWith(`${id}-`));
    if (!file) {
      missing.push(`no step file for ${id}`);
      continue;
    }
    const source = readFileSync(join(ROOT, 'scripts', file), 'utf8');
    if (!commandPatterns(source).some((p) => p.test(argv.join(' ')))) missing.push(`scripts/${file} does not show: ${line}`);
  }
  t.deepEqual(missing, []);
});

test('--help lists exactly the commands --transcript prints, for every step', async (t) => {
  const files = readdirSync(join(ROOT, 'scripts')).filter((f) => /^\d\d-.+\.mjs$/.test(f));
  const dir = mkdtempSync(join(tmpdir(), 'clustermesh-help-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fixtures = join(ROOT, 'test', 'fixtures', 'kubeconfig');
  // env.example's settings with the K3s kubeconfigs set (so that step 00 has its commands too).
  const env = {
    ...process.env, RUNBOOK_ENV: join(ROOT, 'env.example'), KUBECONFIG: join(dir, 'config'), NO_COLOR: '1',
    CLUSTER_A_K3S_KUBECONFIG: join(fixtures, 'k3s-a.yaml'), CLUSTER_B_K3S_KUBECONFIG: join(fixtures, 'k3s-b.yaml'),
    CLUSTER_A_API_HOST: '192.168.254.10', CLUSTER_B_API_HOST: '192.168.254.11',
  };
  for (const file of files) {
    const [help, transcript] = await Promise.all([runScript(file, ['--help'], { env }), runScript(file, ['--transcript'], { env })]);
    t.is(help.code, 0, help.output);
    t.is(transcript.code, 0, transcript.output);
    const listed = help.stdout.split(/\nWhat it runs, with the settings from [^\n]*:\n/)[1]?.split('\n\nUsage:')[0] ?? '';
    const helpLines = listed.split('\n').map((l) => l.replace(/^ {2}/, '')).join('\n').trim();
    t.regex(helpLines, /^# \S/, `${file} --help lists no commands:\n${help.stdout}`);
    const first = `\n${helpLines.split('\n')[0]}\n`;
    const actions = transcript.stdout.slice(transcript.stdout.indexOf(first)).trim();
    t.is(helpLines, actions, `${file}: --help and --transcript list different commands`);
  }
});
