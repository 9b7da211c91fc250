// @ts-check
// The one executor every step goes through. For each action:
//   run         check → (change) → verify, and report ok / changed / failed
//   dry-run     check only, then show the commands and manifests it would run
//   transcript  no check: print the bash a fresh pair of clusters needs
// A check that says 'blocked' stops the step before anything is changed.
import { out, style, sideBySide } from './output.mjs';
import { ToolError } from './runtime.mjs';
import { actionsOf, isCode, isLanes, transcriptOf, verifyBashOf } from './plan.mjs';

/** @typedef {import('./actions.js').Action} Action */
/** @typedef {import('./actions.js').Plan} Plan */
/** @typedef {import('./actions.js').Command} Command */
/** @typedef {import('./actions.js').CheckResult} CheckResult */
/** @typedef {import('./runtime.mjs').Runtime} Runtime */

/**
 * Why a step stopped: the action, and the failing command with its stderr when
 * there is one. `refused`: a check or the step's prerequisites stopped it before
 * any change; `interrupted`: Ctrl-C (or SIGTERM) stopped it.
 */
export class StepFailure extends Error {
  /**
   * @param {string} action @param {string} message @param {ToolError | undefined} tool
   * @param {{ refused?: boolean, interrupted?: boolean }} [how]
   */
  constructor(action, message, tool, how = {}) {
    super(message);
    this.action = action;
    this.tool = tool;
    this.refused = Boolean(how.refused);
    this.interrupted = Boolean(how.interrupted);
    /** A refusal because an earlier step is not done (set by runSteps). */
    this.outOfOrder = false;
  }
}

/**
 * @typedef {{ ok: number, changed: number, failed: number, wouldChange: number }} Tally
 */

/**
 * How a step's actions run: the runtime, the tally counted into as they run (so
 * a caller still knows what was changed before an action failed), the step's
 * prerequisites asked once before the first change, checks started ahead, and
 * whether nothing has changed yet since those checks were started.
 * @typedef {{ rt: Runtime, tally: Tally, ready: () => Promise<string | null>, early: Map<Action, Promise<Settled>>,
 *   fresh: { still: boolean } }} Run
 * @typedef {{ r: CheckResult } | { e: unknown }} Settled
 */

/**
 * Runs a step's plan in the runtime's mode (run or dry-run). Lanes (one per
 * cluster) run at the same time in a run, one after the other in a dry run or
 * with --verbose, so probes and plans read in order.
 * @param {Runtime} rt
 * @param {readonly Plan[]} plans
 * @param {{ tally?: Tally, ready?: () => Promise<string | null>, early?: Map<Action, Promise<Settled>>, fresh?: { still: boolean } }} [opts]
 *   early: checks already started (startChecks); fresh: shared across steps, false once anything changed
 * @returns {Promise<Tally>}
 */
export async function executePlan(rt, plans, opts = {}) {
  const tally = opts.tally ?? { ok: 0, changed: 0, failed: 0, wouldChange: 0 };
  /** @type {Promise<string | null> | undefined} */
  let asked;
  const ready = opts.ready;
  /** @type {Run} */
  const run = {
    rt, tally, ready: () => (asked ??= ready ? ready() : Promise.resolve(null)),
    early: opts.early ?? startChecks(rt, plans), fresh: opts.fresh ?? { still: true },
  };
  const together = rt.mode === 'run' && !rt.verbose;
  for (const plan of plans) {
    if (!isLanes(plan)) {
      await runAction(run, plan);
      continue;
    }
    if (!together) {
      for (const lane of plan.lanes) for (const a of lane) await runAction(run, a);
      continue;
    }
    // Each lane keeps the early answers while nothing in it has changed: the lanes are independent.
    const fresh = plan.lanes.map(() => ({ still: run.fresh.still }));
    const settled = await sideBySide(plan.lanes.map((lane, i) => async () => {
      for (const a of lane) await runAction({ ...run, fresh: fresh[i] }, a);
    }));
    run.fresh.still = fresh.every((f) => f.still);
    const failed = settled.find((x) => x.status === 'rejected');
    if (failed) throw failed.reason;
  }
  return tally;
}

/**
 * check → (change) → verify for one action, reported as ok / changed / failed.
 * @param {Run} run
 * @param {Action} action
 */
async function runAction(run, action) {
  const { rt, tally } = run;
  try {
    const early = run.fresh.still ? run.early.get(action) : undefined;
    const check = early ? await settled(early) : await rt.checking(() => action.check(rt));
    if (check.state !== 'done' && rt.mode === 'run') run.fresh.still = false;
    if (check.state === 'blocked') {
      throw new StepFailure(action.title, check.message, undefined, { refused: true });
    }
    if (check.state === 'done') {
      tally.ok++;
      out.result('ok', action.title, check.detail);
      return;
    }
    const missing = await run.ready();
    if (missing) throw new StepFailure(action.title, missing, undefined, { refused: true });
    if (rt.mode === 'dry-run') {
      tally.wouldChange++;
      out.result('would change', action.title, check.detail);
      showPlan(action, check);
      return;
    }
    let detail = action.outcome ?? check.detail;
    const items = [...(check.state === 'todo' ? action.run ?? [] : []), ...(action.verify ?? [])];
    for (const item of items) {
      if (isCode(item)) detail = (await rt.changing(() => item.run(rt, check))) ?? detail;
      else await rt.exec(/** @type {Command} */ (item));
    }
    if (check.state === 'todo') tally.changed++;
    else tally.ok++;
    out.result(check.state === 'todo' ? 'changed' : 'ok', action.title, detail);
  } catch (err) {
    tally.failed++;
    if (rt.signal.aborted) {
      // Ctrl-C: the command died of the signal; its "exit code null" says nothing.
      out.result('interrupted', action.title);
      const why = rt.signal.reason instanceof Error ? rt.signal.reason.message : 'interrupted';
      throw new StepFailure(action.title, why, undefined, { interrupted: true });
    }
    out.result('failed', action.title);
    if (err instanceof StepFailure) throw err;
    const error = err instanceof Error ? err : new Error(String(err));
    const hint = action.hint && !rt.signal.aborted ? await action.hint(rt, error).catch(() => undefined) : undefined;
    const message = hint ? `${error.message}\n  hint: ${hint}` : error.message;
    throw new StepFailure(action.title, message, err instanceof ToolError ? err : undefined);
  }
}

/**
 * Starts the checks of a plan's actions at once. Checks only read, so a
 * finished step costs its slowest probe, not the sum, and checks asking the
 * same question share one answer (the runtime's read sharing). An answer is
 * used only while nothing before it has been changed or waited for
 * (`fresh.still`); after that, the action is checked afresh.
 * @param {Runtime} rt
 * @param {readonly Plan[]} plans
 * @returns {Map<Action, Promise<Settled>>}
 */
export function startChecks(rt, plans) {
  return new Map(actionsOf(plans).map((a) => {
    /** @type {Promise<Settled>} */
    const answer = rt.checking(() => a.check(rt)).then((r) => ({ r }), (e) => ({ e }));
    return [a, answer];
  }));
}

/**
 * @param {Promise<Settled>} p
 * @returns {Promise<CheckResult>}
 */
async function settled(p) {
  const v = await p;
  if ('e' in v) throw v.e;
  return v.r;
}

/** What --dry-run shows for an action that would change something. @param {Action} action @param {CheckResult} check */
function showPlan(action, check) {
  const lines = check.state === 'todo' ? transcriptOf(action) : verifyBashOf(action);
  for (const l of lines) out.info(style.dim(l.replace(/^/gm, '    ')));
}
