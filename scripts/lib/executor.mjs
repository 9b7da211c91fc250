// @ts-check
// The one executor every step goes through. For each action:
//   run         check → (change) → verify, and report ok / changed / failed
//   dry-run     check only, then show the commands and manifests it would run
//   transcript  no check: print the bash a fresh pair of clusters needs
// A check that says 'blocked' stops the step before anything is changed.
import { out, style } from './output.mjs';
import { bashOf } from './shell.mjs';
import { ToolError } from './runtime.mjs';

/** @typedef {import('./actions.js').Action} Action */
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
 * Runs a step's actions in the runtime's mode (run or dry-run).
 * @param {Runtime} rt
 * @param {Action[]} actions
 * @param {Tally} [tally] counted into as the actions run, so a caller still
 *   knows what was changed before an action failed
 * @param {() => Promise<string | null>} [ready] the step's prerequisites, asked
 *   once before the first change: a step run out of order changes nothing
 * @param {ReturnType<typeof startChecks>} [early] checks already started
 * @param {{ still: boolean }} [fresh] shared across steps: false once anything changed
 * @returns {Promise<Tally>}
 */
export async function executeActions(rt, actions, tally = { ok: 0, changed: 0, failed: 0, wouldChange: 0 }, ready,
  early = startChecks(rt, actions), fresh = { still: true }) {
  let asked = !ready;
  for (const [i, action] of actions.entries()) {
    try {
      const check = fresh.still ? await settled(early[i]) : await action.check(rt);
      if (check.state !== 'done' && rt.mode === 'run') fresh.still = false;
      if (check.state === 'blocked') {
        throw new StepFailure(action.title, check.message, undefined, { refused: true });
      }
      if (check.state === 'done') {
        tally.ok++;
        out.result('ok', action.title, check.detail);
        continue;
      }
      if (!asked && ready) {
        asked = true;
        const missing = await ready();
        if (missing) throw new StepFailure(action.title, missing, undefined, { refused: true });
      }
      if (rt.mode === 'dry-run') {
        tally.wouldChange++;
        out.result('would change', action.title, check.detail);
        showPlan(action, check);
        continue;
      }
      let detail = check.detail;
      if (check.state === 'todo') {
        if (action.run) detail = (await action.run(rt, check)) ?? detail;
        else for (const cmd of action.commands ?? []) await rt.exec(cmd);
      }
      for (const cmd of action.verify ?? []) await rt.exec(cmd);
      if (action.verifyRun) detail = (await action.verifyRun(rt, check)) ?? detail;
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
  return tally;
}

/**
 * Starts the checks of these actions at once. Checks only read, so a finished
 * step costs its slowest probe, not the sum. executeActions uses an answer only
 * while nothing before it has been changed or waited for (`fresh.still`); after
 * that, each action is checked afresh.
 * @param {Runtime} rt
 * @param {Action[]} actions
 * @returns {Promise<{ r: CheckResult } | { e: unknown }>[]}
 */
export function startChecks(rt, actions) {
  return actions.map((a) => a.check(rt).then((r) => ({ r }), (e) => ({ e })));
}

/**
 * @param {Promise<{ r: CheckResult } | { e: unknown }>} p
 * @returns {Promise<CheckResult>}
 */
async function settled(p) {
  const v = await p;
  if ('e' in v) throw v.e;
  return v.r;
}

/** What --dry-run shows for an action that would change something. @param {Action} action @param {CheckResult} check */
function showPlan(action, check) {
  const lines = check.state === 'todo' ? transcriptOf(action) : (action.verify ?? []).map(bashOf);
  for (const l of lines) out.info(style.dim(l.replace(/^/gm, '    ')));
}

/** The bash lines of an action, for transcripts. @param {Action} action */
export function transcriptOf(action) {
  if (action.transcript) return action.transcript;
  return [...(action.commands ?? []), ...(action.verify ?? [])].map(bashOf);
}
