// @ts-check
// Step 10 against the twin: npm run all → teardown --yes → npm run all ends
// where the first run did; teardown leaves none of the runbook's objects in the
// stores; a second teardown changes nothing; without --yes and without a
// terminal it refuses before a single request; on a fresh twin it has nothing to
// do. --dry-run only reads; --transcript is the bash in order.
import test from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { e2eTwin, endState, ROOT } from '../support/e2e.mjs';
import { testWithEachCli } from '../support/cilium-cli.mjs';
import {
  ciliumCalls, ciliumLogFile, mutatingCilium, mutatingCiliumCalls, nonGetRequests, resetRequests, resultLines, storeNames,
} from '../support/e2e-checks.mjs';
import { comparableState } from '../support/end-state.mjs';
import { makeConfig } from '../support/config-fixture.mjs';
import { TEARDOWN } from '../../scripts/steps.mjs';
import { actionsOf } from '../../scripts/lib/plan.mjs';
import { DRILL_ANNOTATION } from '../../scripts/lib/failover.mjs';

/** @typedef {import('../support/e2e.mjs').E2E} E2E */

/** How many actions the teardown has (one result line each). @param {E2E} h */
const actionCount = (h) => actionsOf(TEARDOWN.actions(makeConfig(h.vars), { flags: new Set() })).length;

/**
 * What of the runbook's work is left in a cluster's store, by kind (all empty after a teardown).
 * @param {E2E} h @param {'a' | 'b'} k
 */
function leftovers(h, k) {
  const store = h.store(k);
  const names = (/** @type {string} */ resource) => store.list(resource).map((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`);
  return {
    echoNamespace: names('/namespaces').filter((n) => n === `/${h.vars.ECHO_NAMESPACE ?? 'echo'}`),
    pools: names('cilium.io/ciliumloadbalancerippools'),
    policies: names('cilium.io/ciliuml2announcementpolicies'),
    // Events stay behind as on a real cluster (kept an hour): the cluster's record, not the runbook's objects.
    clustermesh: storeNames(h, k).filter((o) => o.resource !== '/events' && /clustermesh|kvstoremesh/.test(o.name)).map((o) => `${o.resource} ${o.namespace}/${o.name}`),
    helmRelease: store.list('/secrets', 'kube-system').filter((s) => s.metadata.labels?.owner === 'helm').map((s) => s.metadata.name),
    ciliumWorkloads: [...names('apps/daemonsets'), ...names('apps/deployments')].filter((n) => /^kube-system\/(cilium|hubble|clustermesh)/.test(n)),
    ciliumCa: names('/secrets').filter((n) => n === 'kube-system/cilium-ca' && k === 'b'),
  };
}

/** The mutating cilium calls in a log, as "subcommand --context X" in call order. @param {string} log */
const changesBy = (log) => ciliumCalls(log).filter((c) => mutatingCilium(c.argv)).map(({ argv }) =>
  `${argv.slice(0, argv.findIndex((x) => x.startsWith('-'))).join(' ')} --context ${argv[argv.indexOf('--context') + 1]}`);

testWithEachCli('npm run all → teardown --yes → npm run all: nothing of the runbook is left between, and the rebuild ends as the first run did', async (t, cli) => {
  const h = await e2eTwin(t, { cilium: cli.bin });
  const first = await h.run('all.mjs');
  t.is(first.code, 0, first.output);
  const before = comparableState(h);
  const caBefore = endState(h).a.ca;
  const n = actionCount(h);

  // --dry-run reads and shows; every part of a built pair would be removed.
  resetRequests(h);
  const dry = await h.run('10-teardown.mjs', ['--dry-run']);
  t.is(dry.code, 0, dry.output);
  t.deepEqual(nonGetRequests(h), [], 'dry run: no mutating request');
  t.deepEqual(resultLines(dry.output).map((r) => r.verdict), Array(n).fill('would change'), dry.output);

  const log = ciliumLogFile(h, 'teardown');
  const down = await h.run('10-teardown.mjs', ['--yes'], { env: { TWIN_CILIUM_LOG: log } });
  t.is(down.code, 0, down.output);
  const results = resultLines(down.output);
  t.is(results.length, n);
  t.deepEqual(results.filter((r) => r.verdict === 'failed'), []);
  // The chart renders cilium-ca here (Hubble's certificates use it), so Helm
  // owns B's copy and the uninstall took it: only that action finds nothing left.
  t.deepEqual(results.filter((r) => r.verdict === 'ok').map((r) => r.title.replace(/ — .*/, '')),
    [`Delete the CA copied from ${h.vars.CLUSTER_A_CONTEXT}: Secret kube-system/cilium-ca on ${h.vars.CLUSTER_B_CONTEXT}`]);
  const { CLUSTER_A_CONTEXT: a, CLUSTER_B_CONTEXT: b } = h.vars;
  // In reverse step order; each part runs on both clusters at once, so within a part either may start first.
  const changes = changesBy(log);
  t.deepEqual([changes.slice(0, 1), changes.slice(1, 3).sort(), changes.slice(3).sort()], [[`clustermesh disconnect --context ${a}`],
    [`clustermesh disable --context ${a}`, `clustermesh disable --context ${b}`].sort(),
    [`uninstall --context ${a}`, `uninstall --context ${b}`].sort()], `cilium in reverse step order: ${changes.join(', ')}`);
  t.true(ciliumCalls(log).some((c) => c.argv[0] === 'uninstall' && c.argv.includes('--wait')), 'uninstall waits');

  const nothing = { echoNamespace: [], pools: [], policies: [], clustermesh: [], helmRelease: [], ciliumWorkloads: [], ciliumCa: [] };
  t.deepEqual(leftovers(h, 'a'), nothing, 'cluster A');
  t.deepEqual(leftovers(h, 'b'), nothing, 'cluster B');

  const status = await h.run('status.mjs');
  t.is(status.code, 3, status.output);
  t.is(status.output.match(/ not started$/gm)?.length, 9, status.output);

  // Run again: every part is gone, so every action is ok and nothing is written.
  resetRequests(h);
  const againLog = ciliumLogFile(h, 'teardown-again');
  const again = await h.run('10-teardown.mjs', ['--yes'], { env: { TWIN_CILIUM_LOG: againLog } });
  t.is(again.code, 0, again.output);
  t.is(h.stats().writes, 0, nonGetRequests(h).join(', '));
  t.deepEqual(mutatingCiliumCalls(againLog), []);
  t.deepEqual(resultLines(again.output).map((r) => r.verdict), Array(n).fill('ok'));
  t.regex(again.output, new RegExp(`^✔ 10 .*: ${n} ok, 0 changed, 0 failed `, 'm'));

  const rebuilt = await h.run('all.mjs');
  t.is(rebuilt.code, 0, rebuilt.output);
  // The same end state. comparableState already leaves out Helm revision numbers
  // (the rebuild starts a new release history) and the failover drill's record
  // (its time and figures differ per run); it compares the CA as "shared by A
  // and B": uninstalling Cilium from A took its Helm-owned cilium-ca, so the
  // rebuild made a new one, which step 02 copied to B again.
  t.deepEqual(comparableState(h), before);
  t.not(endState(h).a.ca, caBefore, 'a new CA (the old one went with Cilium on A)');
  const drill = h.store('b').get('apps/deployments', h.vars.ECHO_NAMESPACE ?? 'echo', h.vars.ECHO_NAME ?? 'echo')?.metadata.annotations?.[DRILL_ANNOTATION];
  t.regex(String(drill), /^passed /, 'the drill ran again on the rebuilt pair');
});

testWithEachCli('without --yes and without a terminal: exit 2 before any request; on a fresh twin --yes finds nothing to undo; --transcript is the bash in order', async (t, cli) => {
  const h = await e2eTwin(t, { cilium: cli.bin });
  resetRequests(h);
  const log = ciliumLogFile(h, 'refused');
  const refused = await h.run('10-teardown.mjs', [], { env: { TWIN_CILIUM_LOG: log } });
  t.is(refused.code, 2, refused.output);
  t.regex(refused.stderr, /--yes/);
  t.regex(refused.stderr, /nothing was changed/);
  t.is(h.stats().requests, 0, 'not one API request');
  t.deepEqual(ciliumCalls(log), [], 'no cilium started');

  const freshLog = ciliumLogFile(h, 'fresh');
  const fresh = await h.run('10-teardown.mjs', ['--yes'], { env: { TWIN_CILIUM_LOG: freshLog } });
  t.is(fresh.code, 0, fresh.output);
  t.is(h.stats().writes, 0, nonGetRequests(h).join(', '));
  t.deepEqual(mutatingCiliumCalls(freshLog), []);
  t.deepEqual(resultLines(fresh.output).map((r) => r.verdict), Array(actionCount(h)).fill('ok'));

  const transcript = await h.run('10-teardown.mjs', ['--transcript']);
  t.is(transcript.code, 0, transcript.output);
  const { CLUSTER_A_CONTEXT: a, CLUSTER_B_CONTEXT: b } = h.vars;
  const ns = h.vars.ECHO_NAMESPACE ?? 'echo';
  const commands = transcript.stdout.split('\n').filter((l) => /^(kubectl|cilium) /.test(l))
    .map((l) => l.replace(/ --timeout[= ]\S+/, '').replace(/ (secret -n kube-system) clustermesh-apiserver-\S+( clustermesh-apiserver-\S+)*/, ' $1 <certs>')
      .replace(/ ciliumloadbalancerippools\.cilium\.io\/.*/, ' <pools and policy> --ignore-not-found'));
  t.deepEqual(commands, [
    `kubectl --context ${a} delete namespace ${ns} --ignore-not-found --wait=true`,
    `kubectl --context ${a} wait --for=delete namespace/${ns}`,
    `kubectl --context ${b} delete namespace ${ns} --ignore-not-found --wait=true`,
    `kubectl --context ${b} wait --for=delete namespace/${ns}`,
    `cilium clustermesh disconnect --context ${a} --destination-context ${b}`,
    `cilium clustermesh disable --context ${a}`,
    `kubectl --context ${a} delete secret -n kube-system <certs> --ignore-not-found`,
    `kubectl --context ${a} wait -n kube-system --for=delete deployment/clustermesh-apiserver service/clustermesh-apiserver`,
    `cilium clustermesh disable --context ${b}`,
    `kubectl --context ${b} delete secret -n kube-system <certs> --ignore-not-found`,
    `kubectl --context ${b} wait -n kube-system --for=delete deployment/clustermesh-apiserver service/clustermesh-apiserver`,
    `kubectl --context ${a} delete <pools and policy> --ignore-not-found`,
    `kubectl --context ${b} delete <pools and policy> --ignore-not-found`,
    `cilium uninstall --context ${b} --wait`,
    `kubectl --context ${b} delete secret -n kube-system cilium-ca --ignore-not-found`,
    `cilium uninstall --context ${a} --wait`,
  ], transcript.stdout);
});

/** util-linux `script` gives a command a terminal (Debian's essential bsdutils package; .ci/run installs it where missing). */

/**
 * Runs the teardown with a terminal as stdin, typing `answer` at the prompt.
 * @param {E2E} h @param {string} answer
 * @returns {Promise<{ code: number | null, output: string }>}
 */
function onTerminal(h, answer) {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', `${process.execPath} ${join(ROOT, 'scripts', '10-teardown.mjs')}`, '/dev/null'],
      { env: { ...h.env, NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let typed = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const onData = (/** @type {Buffer} */ d) => {
      output += d;
      if (!typed && /Type yes to go on: /.test(output)) {
        typed = true;
        child.stdin.write(`${answer}\n`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, output }); });
  });
}

test.serial('on a terminal it asks: anything but "yes" changes nothing (exit 2), "yes" goes on', async (t) => {
  const h = await e2eTwin(t);
  resetRequests(h);
  const no = await onTerminal(h, 'no');
  t.is(no.code, 2, no.output);
  t.regex(no.output, /This removes the runbook's work from .*\r?\n.*Type yes to go on: /);
  t.regex(no.output, /not confirmed: nothing was changed/);
  t.is(h.stats().requests, 0, 'not one API request');

  const yes = await onTerminal(h, 'yes');
  t.is(yes.code, 0, yes.output);
  t.regex(yes.output, new RegExp(`10 .*: ${actionCount(h)} ok, 0 changed, 0 failed`));
});
