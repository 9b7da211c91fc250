// @ts-check
// A step run out of order names the first step that is not done, not just the
// one right before it (`npm run 03` on fresh clusters: run 01, not 02). Asked
// only after a step refused to start: the earlier steps' own checks, read-only.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Runtime } from './runtime.mjs';
import { actionsOf } from './plan.mjs';

/** @typedef {import('./actions.js').Step} Step */
/** @typedef {import('./types.js').Config} Config */

const SCRIPTS = new URL('../', import.meta.url);

/**
 * The steps before `id` that apply to this config, in order (00 only with the
 * K3s kubeconfigs set). Imported by file name: steps.mjs imports the step that
 * is running, which is still being evaluated.
 * @param {string} id
 * @param {Config} config
 * @returns {Promise<Step[]>}
 */
async function stepsBefore(id, config) {
  const files = readdirSync(fileURLToPath(SCRIPTS)).filter((f) => /^\d\d-.+\.mjs$/.test(f)).sort()
    .filter((f) => f.slice(0, 2) < id && (f.slice(0, 2) !== '00' || config.k3s));
  return Promise.all(files.map(async (f) => /** @type {{ step: Step }} */ (await import(new URL(f, SCRIPTS).href)).step));
}

/**
 * The first step before `id` whose changes are not all in place, or null when
 * they are (or a check could not tell).
 * @param {string} id
 * @param {Config} config
 * @param {AbortSignal} [signal]
 * @returns {Promise<Step | null>}
 */
export async function firstUndoneBefore(id, config, signal) {
  const rt = new Runtime({ config, mode: 'run', verbose: false, signal });
  try {
    for (const step of await stepsBefore(id, config)) {
      for (const action of actionsOf(step.actions(config, { flags: new Set() }))) {
        const check = await rt.checking(() => action.check(rt));
        if (check.state !== 'done' && check.state !== 'verify') return step;
      }
    }
  } catch {
    return null; // the refusal's own message stands
  }
  return null;
}
