// @ts-check
// npm run status against the twin: one line per step (done, partly done naming
// what is missing, not started), the mesh's connection and both VIPs' answers;
// exit 0 only when every step is done, else 3. It only reads: zero mutating API
// requests and no mutating cilium call in every state, and on finished clusters
// exactly the kubectl/cilium processes and API reads of a no-op `npm run all`.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { e2eTwin } from '../support/e2e.mjs';
import { ciliumLogFile, mutatingCiliumCalls, nonGetRequests, resetRequests } from '../support/e2e-checks.mjs';
import { kubectl } from '../support/kubectl.mjs';
import { makeConfig } from '../support/config-fixture.mjs';
import { STEPS } from '../../scripts/steps.mjs';
import { appPool } from '../../scripts/05-app-pools.mjs';

/** @typedef {import('../support/e2e.mjs').E2E} E2E */

/**
 * The step lines of status's output, by step id.
 * @param {string} output
 * @returns {Record<string, { verdict: string, missing: string }>}
 */
function stepLines(output) {
  /** @type {Record<string, { verdict: string, missing: string }>} */
  const lines = {};
  for (const l of output.split('\n')) {
    const m = /^\S (\d\d) .*?\s(done|partly done|not started|unknown)(?: — (?:missing: )?(.*))?$/.exec(l);
    if (m) lines[m[1]] = { verdict: m[2], missing: m[3] ?? '' };
  }
  return lines;
}

/** The verdict of every step, e.g. { '01': 'done', … }. @param {string} output */
const verdicts = (output) => Object.fromEntries(Object.entries(stepLines(output)).map(([id, l]) => [id, l.verdict]));

/** @param {string} verdict @param {string[]} [ids] */
const all = (verdict, ids = STEPS.map((s) => s.id)) => Object.fromEntries(ids.map((id) => [id, verdict]));

/**
 * Runs status, asserting that it only read: no mutating request on either
 * server, no mutating cilium call.
 * @param {import('ava').ExecutionContext} t @param {E2E} h @param {string} name
 * @param {NodeJS.ProcessEnv} [env]
 */
async function status(t, h, name, env = {}) {
  resetRequests(h);
  const log = ciliumLogFile(h, `status-${name}`);
  const run = await h.run('status.mjs', [], { env: { TWIN_CILIUM_LOG: log, ...env } });
  t.is(h.stats().writes, 0, `${name}: ${nonGetRequests(h).join(', ')}`);
  t.deepEqual(mutatingCiliumCalls(log), [], name);
  t.true(h.stats().reads > 0, `${name}: status read the clusters`);
  return run;
}

/** Per-step kubectl/cilium process counts a RUNBOOK_STATS_FILE holds. @param {string} file */
const perStep = (file) => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
  .map((x) => ({ step: x.step, kubectl: x.counts.kubectl, cilium: x.counts.cilium }));

test.serial('fresh twin: every step not started (exit 3); after 01–04 those are done; a pool on A only makes 05 partly done, naming B', async (t) => {
  const h = await e2eTwin(t);
  const fresh = await status(t, h, 'fresh');
  t.is(fresh.code, 3, fresh.output);
  t.deepEqual(verdicts(fresh.output), all('not started'), fresh.output);
  t.regex(fresh.output, /^0 of 9 steps done; next: npm run 01$/m);
  t.regex(fresh.output, /^mesh: ClusterMesh is not enabled on cluster-a: run step 06/m, 'step 07 check names step 06');

  for (const step of STEPS.slice(0, 4)) {
    const run = await h.run(`${step.name}.mjs`);
    t.is(run.code, 0, `${step.name}:\n${run.output}`);
  }
  const four = await status(t, h, 'after-04');
  t.is(four.code, 3, four.output);
  t.deepEqual(verdicts(four.output), { ...all('done', ['01', '02', '03', '04']), ...all('not started', ['05', '06', '07', '08', '09']) }, four.output);
  t.regex(four.output, /; next: npm run 05$/m);

  // Half of step 05 by hand: the app pool on A only, applied as the step would.
  const config = makeConfig(h.vars);
  const applied = await kubectl(['apply', '-f', '-'], {
    kubeconfig: h.vars.KUBECONFIG, cacheDir: String(h.env.KUBECACHEDIR), context: config.a.context, input: appPool(config.a).yaml,
  });
  t.is(applied.code, 0, applied.stderr);
  const half = await status(t, h, 'half-05');
  t.is(half.code, 3, half.output);
  const five = stepLines(half.output)['05'];
  t.is(five.verdict, 'partly done', half.output);
  t.is(five.missing, `App pool (${config.b.appPool.start}–${config.b.appPool.stop}) on ${config.b.context}`, 'names the action missing, on B only');
  t.is(verdicts(half.output)['06'], 'not started');
});

test.serial('after npm run all: exit 0, every step done, mesh connected, both VIPs with their pages; the same processes and reads as a no-op run', async (t) => {
  const h = await e2eTwin(t);
  const first = await h.run('all.mjs');
  t.is(first.code, 0, first.output);

  const noopStats = join(h.twin.dir, 'noop-stats.jsonl');
  resetRequests(h);
  const noop = await h.run('all.mjs', [], { env: { RUNBOOK_STATS_FILE: noopStats } });
  t.is(noop.code, 0, noop.output);
  const noopReads = h.stats().reads;
  t.is(h.stats().writes, 0, 'the second all.mjs is a no-op');

  const statusStats = join(h.twin.dir, 'status-stats.jsonl');
  const run = await status(t, h, 'done', { RUNBOOK_STATS_FILE: statusStats });
  t.is(run.code, 0, run.output);
  t.deepEqual(verdicts(run.output), all('done'), run.output);
  t.regex(run.output, /^9 of 9 steps done$/m);

  const config = makeConfig(h.vars);
  t.regex(run.output, new RegExp(`^mesh: ${config.a.name} ⇄ ${config.b.name} connected$`, 'm'));
  for (const c of config.clusters) {
    const ip = h.store(c.key).get('/services', config.echo.namespace, config.echo.name)?.status?.loadBalancer?.ingress?.[0]?.ip;
    t.truthy(ip, `${c.context}: echo has a VIP`);
    t.regex(run.output, new RegExp(`^${c.context}'s echo VIP: ${ip?.replaceAll('.', '\\.')} → ${c.echoPage}$`, 'm'));
  }

  // The same checks as a no-op run, no more: per step the same kubectl and cilium processes, and the same API reads.
  t.deepEqual(perStep(statusStats), perStep(noopStats));
  t.is(h.stats().reads, noopReads, 'API reads: status vs no-op npm run all');
});
