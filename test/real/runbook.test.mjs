// @ts-check
// The runbook on the real backend (tools/real-backend/backend.mjs): two real
// control planes with kwok nodes, the real cilium-operator for the chart's
// Deployment, the data plane and agent exec model on loopback; the real
// kubectl and a cilium CLI: the real one when there is one
// (RUNBOOK_REAL_CILIUM or npm run build:cilium's cache), else the project's
// stand-in (twin/bin/cilium, a plain client of the API). Steps run as a user
// runs them, in the order a room would: 01 alone, then `npm run all`, again
// (changing nothing, by the apiservers' audit logs), the twin's end state
// beside the real one, a teardown and a rebuild killed twice on the way, and
// an apiserver that stops answering.
import { backendBinaries, startBackend } from '../../tools/real-backend/backend.mjs';
import { adminGet } from '../../tools/real-backend/apiserver.mjs';
import { realBackend } from '../support/real-backend.mjs';
import { REAL_ARTICLE_VARS, realRunbookEnv, auditMarks, runbookWritesSince } from '../support/real-runbook.mjs';
import { e2eTwin, runScript } from '../support/e2e.mjs';
import { realCilium } from '../support/real-cilium.mjs';
import { killTree } from '../support/proc.mjs';
import { snapshot, differences, differenceTable } from '../support/backend-diff.mjs';
import { unknownDifferences } from '../support/backend-known.mjs';
import { kubectl } from '../support/kubectl.mjs';
import { scaled } from '../support/time.mjs';
import { join } from 'node:path';

const CLUSTERS = /** @type {const} */ ({
  a: { nodes: { count: 3, ipBase: '127.0.50.1' }, podCidr: '10.42.0.0/16', serviceCidr: '10.96.0.0/12' },
  b: { nodes: { count: 3, ipBase: '127.0.60.1' }, podCidr: '10.43.0.0/16', serviceCidr: '10.112.0.0/12' },
});
const { cli } = realCilium();
const { missing } = backendBinaries();
/** @type {string[]} */
const backendLog = [];

const { real, k, cluster } = realBackend(missing, (dir) => startBackend({ dir, clusters: CLUSTERS, readyMs: scaled(120_000),
  log: (l) => backendLog.push(l) }));

const VARS = { ...REAL_ARTICLE_VARS };
/** The environment of a step on this backend. */
const env = () => realRunbookEnv(cluster().dir, cluster().kubeconfig, { vars: VARS, cilium: cli?.bin });
/** @param {string[]} [args] @param {import('../support/e2e.mjs').RunOptions} [o] */
const runAll = (args = [], o = {}) => runScript('all.mjs', args, { env: env(), timeoutMs: 900_000, ...o });
/** The end of a run's output and of the backend's log, for a failure message. @param {{ output: string }} r */
const tail = (r) => `${r.output.split('\n').slice(-40).join('\n')}\nbackend:\n${backendLog.slice(-20).join('\n')}`;

/** @type {Map<string, Record<string, string>> | undefined} the end state of the first whole run */
let firstEnd;

real('step 01 installs Cilium on cluster A of the real backend: release, cilium-config, operator and agents', async (t) => {
  const step01 = await runScript('01-install-a.mjs', [], { env: env(), timeoutMs: 240_000 });
  t.log(`step 01 with the ${cli ? `real cilium CLI (${cli.bin})` : 'cilium stand-in'} exited ${step01.code}`);
  const r = await k(['--context', 'cluster-a', '-n', 'kube-system', 'get', 'secret/sh.helm.release.v1.cilium.v1', 'configmap/cilium-config',
    'deployment/cilium-operator', 'daemonset/cilium', '-o', 'name']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(r.stdout.trim().split('\n'),
    ['secret/sh.helm.release.v1.cilium.v1', 'configmap/cilium-config', 'deployment.apps/cilium-operator', 'daemonset.apps/cilium']);
  const name = await k(['--context', 'cluster-a', '-n', 'kube-system', 'get', 'configmap/cilium-config', '-o', 'jsonpath={.data.cluster-name} {.data.cluster-id}']);
  t.is(name.stdout, 'cluster-a 1');
  // The backend starts the real operator once it sees the Deployment (it polls once a second).
  const started = (/** @type {string} */ l) => /cilium-operator-generic started for the Deployment .*cluster cluster-a\)/.test(l);
  const deadline = Date.now() + scaled(30_000);
  while (!backendLog.some(started) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  t.true(backendLog.some(started), backendLog.join('\n'));
  const events = await k(['--context', 'cluster-a', '-n', 'kube-system', 'get', 'events', '--field-selector', 'reason=FailedCreate',
    '-o', 'jsonpath={range .items[*]}{.involvedObject.name}: {.message}{"\\n"}{end}']);
  t.is(step01.code, 0, `${tail(step01)}\nFailedCreate events:\n${events.stdout}`);
});

real('steps 02 to 09 follow on the real backend: npm run all ends with 9 of 9 steps passed', async (t) => {
  const run = await runAll();
  t.is(run.code, 0, tail(run));
  t.regex(run.output, /^9 of 9 steps passed in /m);
  firstEnd = await snapshot(k, VARS);
});

real('a second npm run all changes nothing: no mutating request from kubectl, cilium or Helm in either audit log', async (t) => {
  const b = cluster();
  const marks = auditMarks(b);
  const run = await runAll();
  t.is(run.code, 0, tail(run));
  t.regex(run.output, /^9 of 9 steps passed in /m);
  const writes = runbookWritesSince(b, marks);
  t.deepEqual(writes, [], `the second run changed the clusters:\n${writes.join('\n')}`);
});

real('the twin ends where the real backend does: the difference table lists only the known differences', async (t) => {
  t.truthy(firstEnd, 'the first whole run left an end state');
  const h = await e2eTwin(t, { overrides: { ECHO_SERVICE_PORT: VARS.ECHO_SERVICE_PORT } });
  const run = await h.run('all.mjs', [], { timeoutMs: 300_000 });
  t.is(run.code, 0, run.output);
  const twinEnd = await snapshot((args) => kubectl(args, { kubeconfig: h.vars.KUBECONFIG, cacheDir: join(h.twin.dir, 'kube-cache') }), h.vars);
  const unknown = unknownDifferences(twinEnd, /** @type {Map<string, Record<string, string>>} */ (firstEnd), '');
  t.deepEqual(unknown, [], `differences not listed in test/support/backend-known.mjs (the twin is wrong: fix it, or list why it stays):\n${differenceTable(unknown)}`);
});

/**
 * Runs all.mjs and SIGKILLs it once `when` holds of its output and `ready` of
 * the clusters (polled). `tree`: every tool it started too (as a killed
 * process group); else the tools live on, as after `kill -9` of the runner.
 * @param {(output: string) => boolean} when @param {() => Promise<boolean>} ready @param {boolean} tree
 */
async function killedRun(when, ready, tree) {
  let fired = false;
  return runAll([], {
    onOutput: (o, child) => {
      if (fired || !when(o)) return;
      fired = true;
      (async () => {
        const deadline = Date.now() + scaled(60_000);
        while (Date.now() < deadline && !(await ready().catch(() => false))) await new Promise((r) => setTimeout(r, 10));
        if (tree && child.pid) killTree(child.pid);
        else child.kill('SIGKILL');
      })();
    },
  });
}

/**
 * Whether a Helm release record of cilium on cluster `key` has status `status`:
 * asked of its apiserver directly, so a poll takes milliseconds and catches a
 * Helm operation that is under way for well under a second.
 * @param {'a' | 'b'} key @param {string} status
 */
async function helmRecord(key, status) {
  const c = cluster().clusters[key];
  const selector = encodeURIComponent(`owner=helm,name=cilium,status=${status}`);
  const r = await adminGet(c.server, c.pki, `/api/v1/namespaces/kube-system/secrets?labelSelector=${selector}`);
  return r.status === 200 && JSON.parse(r.body).items.length > 0;
}

real('torn down and built again, killed (SIGKILL) in cilium install and in clustermesh connect, the run resumes to the same end state', async (t) => {
  const down = await runScript('10-teardown.mjs', ['--yes'], { env: env(), timeoutMs: 600_000 });
  t.is(down.code, 0, tail(down));
  const gone = await k(['--context', 'cluster-a', '-n', 'kube-system', 'get', 'deployment/cilium-operator', '--ignore-not-found', '-o', 'name']);
  t.is(gone.stdout, '', 'teardown removed Cilium from cluster A');

  // The runner killed mid-install; its cilium finishes the install as an orphan, the next run waits for it.
  const inInstall = await killedRun((o) => /^\$ cilium install --context cluster-a /m.test(o), () => helmRecord('a', 'pending-install'), false);
  t.is(inInstall.signal, 'SIGKILL', tail(inInstall));
  // The runner and its cilium killed mid-connect: the Helm upgrade is left pending for good.
  const inConnect = await killedRun((o) => /^\$ cilium clustermesh connect --context cluster-a /m.test(o),
    async () => (await helmRecord('a', 'pending-upgrade')) || helmRecord('b', 'pending-upgrade'), true);
  t.is(inConnect.signal, 'SIGKILL', tail(inConnect));
  t.notRegex(inConnect.output, /^\$ cilium install --context cluster-a /m, 'the run after the first kill did not install on cluster-a again');

  // The next run waits TIMEOUT_CILIUM for the pending upgrade, then says how to drop it: do as it says.
  let last = await runAll();
  const fix = /`(kubectl --context (\S+) delete secret -n kube-system (sh\.helm\.release\.v1\.cilium\.v\d+))`/.exec(last.stderr);
  if (last.code !== 0 && fix) {
    t.log(`the run after the second kill said to run: ${fix[1]}`);
    const r = await k(['--context', fix[2], 'delete', 'secret', '-n', 'kube-system', fix[3]]);
    t.is(r.code, 0, r.stderr);
    last = await runAll();
  }
  t.is(last.code, 0, tail(last));
  t.regex(last.output, /^9 of 9 steps passed in /m);
  const rows = differences(/** @type {Map<string, Record<string, string>>} */ (firstEnd), await snapshot(k, VARS));
  t.deepEqual(rows, [], `the rebuilt clusters differ from the first run's:\n${differenceTable(rows)}`);
});

real("cluster B's apiserver stopped (SIGSTOP), then killed (SIGKILL): the run stops at step 02 naming cluster B", async (t) => {
  const api = /** @type {import('../../tools/real-backend/procs.mjs').Proc} */ (cluster().clusters.b.procs.find((p) => p.name === 'kube-apiserver'));
  const server = cluster().clusters.b.server;
  process.kill(api.pid, 'SIGSTOP');
  let stopped;
  const since = Date.now();
  let lastOutput = since;
  try {
    stopped = await runAll([], { timeoutMs: 600_000, onOutput: () => { lastOutput = Date.now(); } });
  } finally {
    process.kill(api.pid, 'SIGCONT');
  }
  t.log(`with cluster B's apiserver stopped, the run's last output came after ${Math.round((lastOutput - since) / 1000)} s, `
    + `its exit after ${Math.round((Date.now() - since) / 1000)} s:\n${
    stopped.output.split('\n').filter((l) => /^\$ |↻|killed after|not reachable|✘/.test(l)).slice(-12).join('\n')}`);
  t.is(stopped.code, 1, tail(stopped));
  t.regex(stopped.stderr, new RegExp(`cluster B \\(context cluster-b\\): the API server at ${server.replace(/\./g, '\\.')} does not answer — Unable to connect to the server: net/http: TLS handshake timeout`), stopped.stderr);

  process.kill(api.pid, 'SIGKILL');
  await api.exited;
  const killedAt = Date.now();
  const killed = await runAll([], { timeoutMs: 600_000 });
  t.log(`with cluster B's apiserver killed, the run ended after ${Math.round((Date.now() - killedAt) / 1000)} s`);
  t.is(killed.code, 1, tail(killed));
  t.regex(killed.stderr, new RegExp(`cluster B \\(context cluster-b\\): the API server at ${server.replace(/\./g, '\\.')} is not reachable — The connection to the server [\\d.:]+ was refused`), killed.stderr);
});
