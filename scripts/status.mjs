#!/usr/bin/env node
// @ts-check
/**
 * Status — how far the runbook got on the two clusters
 *
 * Probes both clusters read-only and prints one line per step: done, partly
 * done (naming the actions still missing), or not started. It asks exactly what
 * a run would ask before acting: each step's own action checks, in order, and
 * nothing else. So on finished clusters it costs the same kubectl and cilium
 * calls as a no-op `npm run all`, never changes anything and takes no lock: it
 * can run while a step is running.
 *
 * A step is done when every check finds its action done; not started when none
 * of its changes is in place (a step whose prerequisites are missing, or whose
 * only finished checks are read-only ones such as step 01's tool versions); partly
 * done otherwise. A check blocked by a missing prerequisite ends that step's
 * checks: the actions after it count as missing.
 *
 * Below the steps: the mesh's connection (step 07's check) and what each echo
 * VIP answered just now (step 08's checks).
 *
 *   --verbose     show the read-only probes
 *
 * Exit codes: 0 every step done, 3 not (yet), 1 a cluster could not be probed,
 * 2 bad input.
 */
import { STEPS } from './steps.mjs';
import { parseArgs, scriptHelp, UsageError } from './lib/cli.mjs';
import { guard, prepare, toolsFor, recordStats } from './lib/step.mjs';
import { Runtime, firstLine } from './lib/runtime.mjs';
import { actionsOf, isCode } from './lib/plan.mjs';
import { out, style } from './lib/output.mjs';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** @typedef {import('./lib/actions.js').Step} Step */
/** @typedef {import('./lib/actions.js').Action} Action */
/** @typedef {import('./lib/types.js').Config} Config */
/** @typedef {'done' | 'todo' | 'verify' | 'blocked' | 'unchecked'} Seen */
/** @typedef {{ action: Action, seen: Seen, text: string }} ActionStatus */
/**
 * @typedef {{ step: Step, verdict: 'done' | 'partly done' | 'not started' | 'unknown', actions: ActionStatus[],
 *   error?: string, counts: Runtime['counts'], seconds: number }} StepStatus
 */

/** An action that changes something (not a check-only one, like a version probe or a wait). @param {Action} a */
const makesChange = (a) => Boolean(a.run?.length);

/** Seconds status waits at most for anything a check leaves to its verify (the settings' TIMEOUT_* are for runs). */
const STATUS_WAIT = 5;

/** What status may start: reads and waits. Anything else is refused, so status cannot write by mistake. */
const READ_ONLY = { kubectl: /^(get|wait|version|rollout status)\b/, cilium: /^(status|version|clustermesh status)\b/ };

/** A Runtime that only reads, and shows what it runs only with --verbose (as probes). */
class StatusRuntime extends Runtime {
  /** @param {string} line */
  announce(line) {
    if (this.verbose) out.probe(line);
  }

  /** @param {import('./lib/actions.js').Command} cmd @param {{ quiet?: boolean }} [opts] */
  exec(cmd, opts = {}) {
    const words = cmd.args.filter((a, i) => !a.startsWith('-') && cmd.args[i - 1] !== '--context').join(' ');
    if (!READ_ONLY[cmd.tool].test(words)) {
      return Promise.reject(new Error(`status runs no command that could change a cluster: ${this.line(cmd)}`));
    }
    if (this.verbose && !opts.quiet) out.probe(this.line(cmd));
    return super.exec(cmd, { quiet: true });
  }
}

/**
 * The config status runs the checks with: waits capped at STATUS_WAIT seconds.
 * @param {Config} config
 * @returns {Config}
 */
export const statusConfig = (config) => ({
  ...config,
  timeouts: { ...config.timeouts, ...Object.fromEntries(['cilium', 'resources', 'mesh', 'rollout', 'failover']
    .map((k) => [k, Math.min(STATUS_WAIT, config.timeouts[/** @type {keyof Config['timeouts']} */ (k)])])) },
});

/**
 * Runs a step's checks the way a run does (in order, until one is blocked), and
 * for a check that leaves the last word to its verify (an installed Cilium is
 * done once \`cilium status --wait\` says so) that verify too, as a no-op run
 * does: the same reads, and never a change or the step's prerequisites.
 * @param {Step} step
 * @param {Config} config as statusConfig() returns it
 * @param {boolean} verbose
 * @returns {Promise<StepStatus>}
 */
export async function stepStatus(step, config, verbose) {
  const rt = new StatusRuntime({ config, mode: 'run', verbose });
  const started = performance.now();
  /** @type {ActionStatus[]} */
  const actions = [];
  /** @type {string | undefined} */
  let error;
  for (const action of actionsOf(step.actions(config, { flags: new Set() }))) {
    if (error !== undefined || actions.some((x) => x.seen === 'blocked')) {
      actions.push({ action, seen: 'unchecked', text: 'not checked' });
      continue;
    }
    try {
      const check = await rt.checking(() => action.check(rt));
      if (check.state !== 'verify') {
        actions.push({ action, seen: check.state, text: (check.state === 'blocked' ? check.message : check.detail) ?? '' });
        continue;
      }
      try {
        let detail = check.detail;
        for (const item of action.verify ?? []) {
          if (isCode(item)) detail = (await item.run(rt, check)) ?? detail;
          else await rt.exec(/** @type {import('./lib/actions.js').Command} */ (item));
        }
        actions.push({ action, seen: 'done', text: detail ?? '' });
      } catch (err) {
        if (rt.signal.aborted) throw err;
        // What the check saw (e.g. the mesh not ready yet, and why) before how the wait ended.
        actions.push({ action, seen: 'verify', text: [check.detail, firstLine(err instanceof Error ? err.message : String(err))].filter(Boolean).join(' — ') });
      }
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      actions.push({ action, seen: 'unchecked', text: `could not check: ${error}` });
    }
  }
  const inPlace = actions.some((x) => makesChange(x.action) && (x.seen === 'done' || x.seen === 'verify'));
  const verdict = error !== undefined ? 'unknown'
    : actions.every((x) => x.seen === 'done') ? 'done'
      : inPlace ? 'partly done' : 'not started';
  return { step, verdict, actions, error, counts: rt.counts, seconds: (performance.now() - started) / 1000 };
}

/** The actions of a step not done yet, as a phrase. @param {StepStatus} s */
function missing(s) {
  return s.actions.filter((x) => x.seen !== 'done')
    .map((x) => (x.seen === 'verify' ? `${x.action.title} (in place, not ready: ${x.text})` : x.action.title)).join('; ');
}

/** @param {StepStatus} s */
function line(s) {
  const head = `${s.step.id} ${s.step.title}`.padEnd(46);
  switch (s.verdict) {
    case 'done': return `${style.green('✔')} ${head} done`;
    case 'partly done': return `${style.yellow('◐')} ${head} partly done — missing: ${missing(s)}`;
    case 'not started': return `${style.dim('·')} ${head} not started`;
    default: return `${style.red('✘')} ${head} unknown — ${s.error}`;
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  await guard(async () => {
    const args = parseArgs(process.argv.slice(2));
    if (args.help) {
      out.info(scriptHelp(import.meta.url, 'npm run status [-- --verbose]   (or node scripts/status.mjs)'));
      return 0;
    }
    if (args.dryRun || args.transcript) throw new UsageError('status is read-only already: no --dry-run or --transcript');
    const config = prepare(toolsFor(STEPS));
    const checkConfig = statusConfig(config);
    out.info(style.bold(`Status of ${config.a.context} and ${config.b.context} (read-only)`));
    /** @type {StepStatus[]} */
    const all = [];
    for (const step of STEPS) {
      const s = await stepStatus(step, checkConfig, args.verbose);
      all.push(s);
      out.info(line(s));
      recordStats({ step, seconds: s.seconds, counts: s.counts, error: undefined,
        tally: { ok: s.actions.filter((x) => x.seen === 'done').length, changed: 0, failed: 0, wouldChange: s.actions.filter((x) => x.seen !== 'done').length } });
    }
    out.info('');
    for (const s of all) {
      for (const x of s.actions) {
        if (x.action.statusLabel) out.info(`${x.action.statusLabel}: ${x.seen === 'unchecked' ? `not checked (step ${s.step.id} ${s.verdict})` : x.text || x.seen}`);
      }
    }
    const done = all.filter((s) => s.verdict === 'done').length;
    const next = all.find((s) => s.verdict !== 'done');
    out.info(`\n${done} of ${all.length} steps done${next ? `; next: npm run ${next.step.id}` : ''}`);
    if (all.some((s) => s.verdict === 'unknown')) return 1;
    return next ? 3 : 0;
  });
}
