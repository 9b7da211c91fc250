// @ts-check
// What a newcomer meets before anything goes wrong on the clusters (issue 8):
// the first line names the env file (and warns about a .env it does not read),
// Ctrl-C says "interrupted" and how to resume, a step run out of order names the
// first step not done and saves no diagnostics, the summary keeps whole titles,
// a typo'd variable name is refused, and step 00's renamed kubeconfigs (client
// keys) do not outlive a SIGKILL. The real scripts, on twins.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { e2eTwin, ROOT } from '../support/e2e.mjs';
import { tempDir, MESH_KUBECONFIG } from '../support/config-fixture.mjs';

/**
 * Runs scripts/<script> in `cwd` to its end.
 * @param {string} cwd @param {string} script @param {string[]} args @param {NodeJS.ProcessEnv} env
 * @param {(output: string, child: import('node:child_process').ChildProcess) => void} [onOutput]
 * @param {(child: import('node:child_process').ChildProcess) => void} [onStart]
 * @returns {Promise<{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string, output: string }>}
 */
function runIn(cwd, script, args, env, onOutput, onStart) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', script), ...args], { cwd, env: { ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    onStart?.(child);
    let stdout = '';
    let stderr = '';
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; output += d; onOutput?.(output, child); });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; output += d; onOutput?.(output, child); });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, output }));
  });
}

/** @param {string} s */
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test.serial('the first line names the env file; a .env the run does not read is warned about; the summary keeps whole titles', async (t) => {
  const h = await e2eTwin(t);
  const cwd = tempDir('runbook-ux-cwd-');
  const first = await runIn(cwd, 'all.mjs', ['--only', '02', '--dry-run'], h.env);
  t.is(first.stdout.split('\n')[0], `settings: ${h.envFile} (RUNBOOK_ENV), with the environment on top`, first.output);
  t.notRegex(first.output, /is not read/, 'no .env here: nothing to warn about');
  // The summary table: "02 Share cluster A's Cilium CA with cluster B", not cut at 42 characters.
  t.regex(first.stdout, /^02 Share cluster A's Cilium CA with cluster B +\d/m, first.output);

  // A .env next to the run, while RUNBOOK_ENV names another file: its edits would be ignored.
  fs.writeFileSync(path.join(cwd, '.env'), 'CLUSTER_A_NAME=edited-but-ignored\n');
  const second = await runIn(cwd, 'all.mjs', ['--only', '02', '--dry-run'], h.env);
  const lines = second.stdout.split('\n');
  t.is(lines[0], `settings: ${h.envFile} (RUNBOOK_ENV), with the environment on top`);
  t.is(lines[1], `warning: ${path.join(cwd, '.env')} is not read: RUNBOOK_ENV names ${h.envFile}. Edit that file, or unset RUNBOOK_ENV to use .env`);

  // The same .env, used: no warning.
  const { RUNBOOK_ENV: _, ...noVar } = h.env;
  fs.copyFileSync(h.envFile, path.join(cwd, '.env'));
  const third = await runIn(cwd, 'all.mjs', ['--only', '02', '--dry-run'], noVar);
  t.is(third.stdout.split('\n')[0], `settings: ${path.join(cwd, '.env')}, with the environment on top`, third.output);
  t.notRegex(third.output, /is not read/);
});

test.serial('Ctrl-C during a step: exit 130, "interrupted" and how to resume, no "exit code null"', async (t) => {
  const h = await e2eTwin(t);
  let sent = false;
  const run = await h.run('01-install-a.mjs', [], {
    // The first command the step runs (not a read-only probe): interrupt it as a user would.
    onOutput: (output, child) => {
      if (!sent && /^\$ /m.test(output)) {
        sent = true;
        child.kill('SIGINT');
      }
    },
  });
  t.true(sent, run.output);
  t.is(run.code, 130, run.output);
  t.notRegex(run.output, /exit code null/);
  t.notRegex(run.output, /✘ failed/);
  t.regex(run.stdout, /^✋ interrupted /m);
  t.regex(run.stdout, /^✘ 01 .*: interrupted after \d+ ok, \d+ changed \(/m);
  t.regex(run.stderr, /^interrupted by SIGINT during: /m);
  t.regex(run.stderr, /run `npm run 01` again to resume/);
  t.notRegex(run.stderr, /fix the cause/);
});

test.serial('npm run 03 on a fresh pair names step 01, the first step not done, and saves no diagnostics', async (t) => {
  const h = await e2eTwin(t);
  const run = await h.run('03-install-b.mjs');
  t.is(run.code, 1, run.output);
  t.regex(run.stderr, /run step 01 \(npm run 01\) first/);
  t.notRegex(run.stderr, /run step 02\b/, 'not sent to 02, which would send on to 01');
  t.notRegex(run.stderr, /diagnostics/);
  t.false(fs.existsSync(String(h.env.RUNBOOK_DIAGNOSTICS_DIR)), 'no diagnostics bundle');

  // After 01, 03's own refusal (B lacks A's CA) names 02, which is now the first step not done.
  t.is((await h.run('01-install-a.mjs')).code, 0);
  const after = await h.run('03-install-b.mjs');
  t.is(after.code, 1, after.output);
  t.regex(after.stderr, /run step 02\b/);
  t.false(fs.existsSync(String(h.env.RUNBOOK_DIAGNOSTICS_DIR)), 'no diagnostics bundle');
});

test.serial('a variable a typo away from a known one (CLUSTR_A_NAME) is refused: exit 2, naming it and the closest name', async (t) => {
  const dir = tempDir('runbook-ux-typo-');
  const envFile = path.join(dir, 'runbook.env');
  fs.writeFileSync(envFile, `KUBECONFIG=${MESH_KUBECONFIG}\nCLUSTR_A_NAME=east\n`);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(KUBECONFIG|CLUSTER_|CILIUM_|MESH_|HUBBLE_|ECHO_|TIMEOUT_)/.test(k)));
  const run = await runIn(dir, 'status.mjs', [], { ...env, RUNBOOK_ENV: envFile });
  t.is(run.code, 2, run.output);
  t.regex(run.stderr, new RegExp(`^The runbook's settings have 1 problem \\(env file ${esc(envFile)}\\):$`, 'm'));
  t.regex(run.stderr, /^CLUSTR_A_NAME: unknown variable CLUSTR_A_NAME, so it has no effect; did you mean CLUSTER_A_NAME\?$/m);
});

test.serial("step 00 killed (SIGKILL) while the renamed kubeconfigs are on disk: the next run removes them", async (t) => {
  const h = await e2eTwin(t);
  const home = tempDir('runbook-ux-00-');
  const tmp = path.join(home, 'tmp');
  const bin = path.join(home, 'bin');
  fs.mkdirSync(tmp);
  fs.mkdirSync(bin);
  const ready = path.join(home, 'blocked');
  // A kubectl that stops (for a while) when step 00 reads cluster B's K3s file:
  // by then A's renamed copy, with its client key, is in step 00's temp folder.
  const bFile = h.twin.clusters.b.k3sKubeconfig;
  fs.writeFileSync(path.join(bin, 'kubectl'), [
    '#!/bin/sh',
    `case "$*" in *"--kubeconfig ${bFile} "*) : > '${ready}'; exec sleep 30;; esac`,
    `PATH='${String(h.env.PATH)}' exec kubectl "$@"`,
  ].join('\n') + '\n', { mode: 0o755 });
  const envFile = path.join(home, 'runbook.env');
  fs.writeFileSync(envFile, '');
  /** @type {NodeJS.ProcessEnv} */
  const env = {
    ...h.env, HOME: home, TMPDIR: tmp, RUNBOOK_ENV: envFile, KUBECONFIG: path.join(home, '.kube', 'config'),
    CLUSTER_A_K3S_KUBECONFIG: h.twin.clusters.a.k3sKubeconfig, CLUSTER_B_K3S_KUBECONFIG: bFile,
    CLUSTER_A_API_HOST: '192.168.254.10', CLUSTER_B_API_HOST: '192.168.254.11',
  };
  const keyFiles = () => fs.readdirSync(tmp, { recursive: true, encoding: 'utf8' })
    .filter((f) => fs.statSync(path.join(tmp, f)).isFile() && /client-key-data/.test(fs.readFileSync(path.join(tmp, f), 'utf8')));

  /** @type {fs.FSWatcher | undefined} */
  let watcher;
  // Killed once the stopped kubectl has made its marker file (nothing is printed meanwhile).
  const killed = await runIn(home, '00-kubeconfig.mjs', [], { ...env, PATH: `${bin}:${env.PATH}` }, undefined, (child) => {
    watcher = fs.watch(home, () => { if (fs.existsSync(ready)) child.kill('SIGKILL'); });
  });
  watcher?.close();
  t.is(killed.signal, 'SIGKILL', killed.output);
  t.not(keyFiles().length, 0, 'the killed run left its renamed kubeconfig (the situation under test)');

  const next = await runIn(home, '00-kubeconfig.mjs', [], env);
  t.is(next.code, 0, next.output);
  t.deepEqual(keyFiles(), [], 'no client key left in the temp folder');
});
