// @ts-check
// Steps out of order: on a fresh twin, with the earlier steps run as a workshop
// would run them, a step whose prerequisite is missing exits 1, names the step
// to run first, and changes nothing: no mutating API request on either
// cluster, no mutating cilium call, the same end state as before.
import test from 'ava';
import { e2eTwin, endState } from '../support/e2e.mjs';
import { ciliumLogFile, mutatingCiliumCalls, nonGetRequests, resetRequests } from '../support/e2e-checks.mjs';
import { STEPS } from '../../scripts/steps.mjs';

/** @typedef {import('../support/e2e.mjs').E2E} E2E */
/** @typedef {import('ava').ExecutionContext} T */

/** @param {string} id */
const script = (id) => {
  const step = STEPS.find((s) => s.id === id);
  if (!step) throw new Error(`no step ${id}`);
  return `${step.name}.mjs`;
};

/** Runs the given steps one by one, each as its own script, as a workshop would. @param {T} t @param {E2E} h @param {string[]} ids */
async function runSteps(t, h, ids) {
  for (const id of ids) {
    const r = await h.run(script(id));
    if (r.code !== 0) t.fail(`step ${id} (building the earlier state) exited ${r.code}:\n${r.output}`);
  }
}

/**
 * @type {{ step: string, done: string[], first: string, why: string }[]}
 *   done: the steps run before; first: the step the message must name
 */
const CASES = [
  { step: '02', done: [], first: '01', why: 'A has no Cilium CA to share yet' },
  { step: '03', done: ['01'], first: '02', why: "B lacks A's CA: installing would make a second CA" },
  { step: '04', done: [], first: '01', why: 'no Cilium, so no LB-IPAM CRDs' },
  { step: '05', done: ['01', '02', '03'], first: '04', why: 'the mesh pools are missing' },
  { step: '06', done: ['01', '02', '03'], first: '04', why: 'no mesh pool for the clustermesh-apiserver (04 and 05 not run)' },
  { step: '06', done: [], first: '01', why: 'nothing installed' },
  { step: '07', done: ['01', '02', '03', '04', '05'], first: '06', why: 'ClusterMesh is not enabled' },
  { step: '08', done: ['01', '02', '03', '04'], first: '05', why: 'no app pool for the echo Service' },
  { step: '09', done: ['01', '02', '03', '04', '05', '06', '07'], first: '08', why: 'echo is not deployed' },
];

for (const c of CASES) {
  const after = c.done.length ? `after ${c.done.join(', ')}` : 'on a fresh twin';
  test.serial(`${c.step} ${after} (${c.why}): exit 1 naming step ${c.first}, nothing changed`, async (t) => {
    const h = await e2eTwin(t);
    await runSteps(t, h, c.done);
    const before = endState(h);
    resetRequests(h);
    const log = ciliumLogFile(h, 'out-of-order');
    const run = await h.run(script(c.step), [], { env: { TWIN_CILIUM_LOG: log } });

    t.is(run.code, 1, run.output);
    t.regex(run.stderr, new RegExp(`run steps? ${c.first}\\b`), `the message names step ${c.first}`);
    t.regex(run.stderr, new RegExp(`fix the cause and run \`npm run ${c.step}\` again`));
    t.regex(run.stdout, new RegExp(`^✘ ${c.step} .*: 0 ok, 0 changed, 1 failed `, 'm'));

    t.is(h.stats().writes, 0, `mutating requests: ${nonGetRequests(h).join(', ')}`);
    t.deepEqual(nonGetRequests(h), []);
    t.deepEqual(mutatingCiliumCalls(log), []);
    t.deepEqual(endState(h), before);
  });
}

test.serial('04 after 01 and 02 but not 03: exit 1 naming step 03 before anything changes on either cluster', async (t) => {
  // The step's prerequisites (Cilium on both clusters) are checked before its
  // first change, so A does not get its pool while B cannot get one.
  const h = await e2eTwin(t);
  await runSteps(t, h, ['01', '02']);
  resetRequests(h);
  const run = await h.run(script('04'));
  t.is(run.code, 1, run.output);
  t.regex(run.stderr, /run step 03\b/);
  t.is(h.stats().writes, 0, `mutating requests: ${nonGetRequests(h).join(', ')}`);
  t.deepEqual(h.store('a').list('cilium.io/ciliumloadbalancerippools'), []);
  t.deepEqual(h.store('b').list('cilium.io/ciliumloadbalancerippools'), []);
  t.regex(run.stdout, /^✘ 04 .*: \d+ ok, 0 changed, 1 failed /m);
});
