#!/usr/bin/env node
// @ts-check
/**
 * All steps — connect two K3s clusters with Cilium ClusterMesh, 01 to 09
 *
 * Runs the nine steps in order in one process. Each step checks before it acts,
 * so a second run, or a run after an interruption, skips what is done and
 * finishes the rest. At the end, a table of the steps with their ok / changed /
 * failed counts and durations. With CLUSTER_A_K3S_KUBECONFIG and
 * CLUSTER_B_K3S_KUBECONFIG set, step 00 (merge the two K3s kubeconfigs into
 * KUBECONFIG) runs first.
 *
 *   --from NN     start at step NN (the steps before it are assumed done)
 *   --only NN     run only step NN
 *   --transcript  print the whole runbook as one bash script, from the config alone
 *   --dry-run     probe the clusters read-only and show what would change
 */
import { STEPS, KUBECONFIG_STEP, stepsFor } from './steps.mjs';
import { parseArgs, headerComment, UsageError } from './lib/cli.mjs';
import { guard, prepare, toolsFor, transcript, runSteps, reportFailure, interruptible, InputError } from './lib/step.mjs';
import { acquireLock } from './lib/lock.mjs';
import { out, style } from './lib/output.mjs';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** @typedef {import('./lib/step.mjs').StepResult} StepResult */

await guard(async () => {
  const stepFlags = [...new Set(STEPS.flatMap((s) => (s.options ?? []).map((o) => o.flag)))];
  const args = parseArgs(process.argv.slice(2), { flags: stepFlags, values: ['from', 'only'] });
  if (args.help) {
    out.info(headerComment(readFileSync(fileURLToPath(import.meta.url), 'utf8')));
    out.info(`\n  --verbose     show read-only probes and command output\n${
      STEPS.flatMap((s) => (s.options ?? []).map((o) => `  --${o.flag.padEnd(12)}(step ${s.id}) ${o.help}`)).join('\n')}`);
    out.info('\nSettings come from .env (or the file RUNBOOK_ENV names); see env.example.');
    return 0;
  }
  const selected = select(args.values.get('from'), args.values.get('only'));
  const config = prepare(args.transcript ? [] : toolsFor(selected), { quiet: args.transcript });
  const applies = stepsFor(config);
  const steps = selected.filter((s) => applies.includes(s));
  if (steps.length === 0) {
    throw new InputError('step 00 merges the K3s kubeconfigs that CLUSTER_A_K3S_KUBECONFIG and CLUSTER_B_K3S_KUBECONFIG name, and neither is set (see env.example)');
  }
  if (args.transcript) {
    process.stdout.write(transcript(steps, config, args.flags));
    return 0;
  }
  const release = args.dryRun ? () => {} : acquireLock(config, 'npm run all');
  const ac = interruptible();
  const started = performance.now();
  try {
    const results = await runSteps(steps, config,
      { mode: args.dryRun ? 'dry-run' : 'run', verbose: args.verbose, flags: args.flags, signal: ac.signal });
    summary(results, (performance.now() - started) / 1000, args.dryRun);
    const failed = results.find((r) => r.error);
    if (failed?.error) {
      reportFailure(failed.error, 'npm run all');
      return ac.signal.aborted ? 130 : 1;
    }
    return 0;
  } finally {
    release();
  }
});

/**
 * @param {string | undefined} from
 * @param {string | undefined} only
 */
function select(from, only) {
  if (from && only) throw new UsageError('--from and --only exclude each other');
  const all = [KUBECONFIG_STEP, ...STEPS];
  const id = from ?? only;
  if (id === undefined) return all;
  const i = all.findIndex((s) => s.id === id.padStart(2, '0'));
  if (i < 0) throw new UsageError(`no step ${id}: the steps are ${all.map((s) => s.id).join(', ')}`);
  return only ? [all[i]] : all.slice(i);
}

/**
 * @param {StepResult[]} results
 * @param {number} seconds
 * @param {boolean} dryRun
 */
function summary(results, seconds, dryRun) {
  // The step column is as wide as the longest title: titles are never cut.
  const width = Math.max(42, ...results.map((r) => `${r.step.id} ${r.step.title}`.length));
  out.info(`\n${style.bold(`${'step'.padEnd(width)}  ok  changed  failed     time  kubectl  cilium`)}`);
  for (const r of results) {
    const t = r.tally;
    out.info(`${`${r.step.id} ${r.step.title}`.padEnd(width)}  ${String(t.ok).padStart(2)}  ${
      String(dryRun ? t.wouldChange : t.changed).padStart(7)}  ${String(t.failed).padStart(6)}  ${
      `${r.seconds.toFixed(1)}s`.padStart(7)}  ${String(r.counts.kubectl).padStart(7)}  ${String(r.counts.cilium).padStart(6)}`);
  }
  const done = results.filter((r) => !r.error).length;
  out.info(`${done} of ${results.length} steps passed in ${seconds.toFixed(1)}s${dryRun ? ' (dry run: "changed" counts what would change)' : ''}`);
}
