// @ts-check
// Run it twice and the second run changes nothing: after a full run, another
// `npm run all`, and each step script alone, make no mutating API request on
// either cluster (counted by the servers, and named from their request logs),
// no mutating cilium call (logged by the stand-in via TWIN_CILIUM_LOG), exit 0,
// and report every action ok.
import { e2eTwin, endState, helmRelease } from '../support/e2e.mjs';
import { testWithEachCli } from '../support/cilium-cli.mjs';
import {
  ciliumCalls, ciliumLogFile, mutatingCilium, mutatingCiliumCalls, nonGetRequests, resetRequests, resultLines, summaryRows,
} from '../support/e2e-checks.mjs';
import { makeConfig } from '../support/config-fixture.mjs';
import { STEPS } from '../../scripts/steps.mjs';
import { actionsOf } from '../../scripts/lib/plan.mjs';

/** @typedef {import('../support/e2e.mjs').E2E} E2E */

/** Helm revisions of both clusters' cilium releases (a no-op run adds none). @param {E2E} h */
const revisions = (h) => [helmRelease(h, 'a')?.version, helmRelease(h, 'b')?.version];

testWithEachCli('a second npm run all makes no mutating API request and no mutating cilium call, and reports every action ok', async (t, cli) => {
  const h = await e2eTwin(t, { cilium: cli.bin });
  const firstLog = ciliumLogFile(h, 'first');
  const first = await h.run('all.mjs', [], { env: { TWIN_CILIUM_LOG: firstLog } });
  t.is(first.code, 0, first.output);
  // The log sees what changes clusters, so its silence below means something.
  const { CLUSTER_A_CONTEXT: a, CLUSTER_B_CONTEXT: b } = h.vars;
  t.deepEqual(ciliumCalls(firstLog).filter((c) => mutatingCilium(c.argv)).map(({ argv }) =>
    `${argv.slice(0, argv.findIndex((x) => x.startsWith('-'))).join(' ')} --context ${argv[argv.indexOf('--context') + 1]}`).sort(),
  [`clustermesh connect --context ${a}`, `clustermesh enable --context ${a}`, `clustermesh enable --context ${b}`, `install --context ${a}`, `install --context ${b}`]);
  const before = endState(h);
  const revs = revisions(h);

  resetRequests(h);
  const log = ciliumLogFile(h, 'second');
  const second = await h.run('all.mjs', [], { env: { TWIN_CILIUM_LOG: log } });
  t.is(second.code, 0, second.output);

  const stats = h.stats();
  t.true(stats.reads > 0, 'the second run did read the clusters');
  t.is(stats.writes, 0, `mutating requests: ${nonGetRequests(h).join(', ')}`);
  t.deepEqual(nonGetRequests(h), []);
  t.true(ciliumCalls(log).length > 0, 'the cilium log records calls');
  t.deepEqual(mutatingCiliumCalls(log), []);

  const results = resultLines(second.output);
  t.true(results.length >= STEPS.length, `${results.length} result lines`);
  t.deepEqual(results.filter((r) => r.verdict !== 'ok'), []);
  t.is(results.length, resultLines(first.output).length, 'the same actions as the first run');
  const rows = summaryRows(second.output);
  t.deepEqual(rows.map((r) => r.id), STEPS.map((s) => s.id));
  t.deepEqual(rows.filter((r) => r.changed !== 0 || r.failed !== 0), []);
  t.is(rows.reduce((n, r) => n + r.ok, 0), results.length);
  t.notRegex(second.output, /✚|^\S+ changed /m, 'nothing reported as changed');

  t.deepEqual(endState(h), before);
  t.deepEqual(revisions(h), revs, 'no new Helm revision');
});

testWithEachCli('after a full run, each step run alone again exits 0 and changes nothing', async (t, cli) => {
  const h = await e2eTwin(t, { cilium: cli.bin });
  const first = await h.run('all.mjs');
  t.is(first.code, 0, first.output);
  const before = endState(h);
  const revs = revisions(h);

  const config = makeConfig(h.vars);
  let ciliumCallCount = 0;
  for (const step of STEPS) {
    resetRequests(h);
    const log = ciliumLogFile(h, step.id);
    const run = await h.run(`${step.name}.mjs`, [], { env: { TWIN_CILIUM_LOG: log } });
    t.is(run.code, 0, `${step.name}:\n${run.output}`);
    t.is(h.stats().writes, 0, `${step.name}: mutating requests: ${nonGetRequests(h).join(', ')}`);
    t.deepEqual(nonGetRequests(h), [], step.name);
    t.deepEqual(mutatingCiliumCalls(log), [], step.name);
    ciliumCallCount += ciliumCalls(log).length;
    const results = resultLines(run.output);
    t.true(results.length > 0, `${step.name}: result lines`);
    t.deepEqual(results.filter((r) => r.verdict !== 'ok'), [], step.name);
    t.is(results.length, actionsOf(step.actions(config, { flags: new Set() })).length, `${step.name}: one result line per action`);
    t.regex(run.output, new RegExp(`^✔ ${step.id} .*: ${results.length} ok, 0 changed, 0 failed `, 'm'), step.name);
  }

  t.true(ciliumCallCount > 0, 'the cilium log records the read-only calls');
  t.deepEqual(endState(h), before);
  t.deepEqual(revisions(h), revs, 'no new Helm revision');
});
