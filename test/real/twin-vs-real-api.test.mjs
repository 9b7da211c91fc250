// @ts-check
// The same kubectl calls against the twin's API server and the real
// kube-apiserver (etcd and kube-apiserver built by npm run build:real), for
// the behaviours where the comparison of the runbook's end state (runbook.test.mjs)
// found the twin wrong: each case shows both answers equal, and equal to the
// real one's known value. Skipped, saying so, when the binaries are not built.
import { clusterBinaries, startCluster } from '../../tools/real-backend/cluster.mjs';
import { realBackend } from '../support/real-backend.mjs';
import { twinForTest } from '../support/twin-harness.mjs';
import { scaled } from '../support/time.mjs';

const { missing } = clusterBinaries();
const { real, k } = realBackend(missing, (dir) => startCluster({ dir, readyMs: scaled(120_000), removeDir: true }));

/** A DaemonSet with `image`. @param {string} image */
const daemonSet = (image) => JSON.stringify({
  apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: 'default' },
  spec: {
    selector: { matchLabels: { app: 'agent' } },
    template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'agent', image }] } },
  },
});

real('a DaemonSet\'s deprecated.daemonset.template.generation: 1 on create, +1 per template change, kept otherwise', async (t) => {
  const twin = await twinForTest(t);
  /** @param {(args: string[], input?: string) => Promise<{ code: number, stdout: string, stderr: string }>} run */
  const generations = async (run) => {
    /** @type {string[]} */
    const seen = [];
    const read = async () => {
      const r = await run(['get', 'daemonset', 'agent', '-o', 'jsonpath={.metadata.annotations.deprecated\\.daemonset\\.template\\.generation} {.metadata.generation}']);
      if (r.code !== 0) throw new Error(r.stderr);
      seen.push(r.stdout);
    };
    for (const step of [
      () => run(['create', '-f', '-'], daemonSet('busybox:1.36')),
      () => run(['replace', '-f', '-'], daemonSet('busybox:1.37')), // template changed
      () => run(['label', 'daemonset', 'agent', 'tier=node']), // metadata only
      () => run(['patch', 'daemonset', 'agent', '--type=merge', '-p', '{"spec":{"minReadySeconds":5}}']), // spec, not template
    ]) {
      const r = await step();
      if (r.code !== 0) throw new Error(r.stderr);
      await read();
    }
    return seen;
  };
  const real = await generations((args, input) => k(args, input));
  const twinSeen = await generations((args, input) => twin.kubectl(args, { input }));
  t.deepEqual(real, ['1 1', '2 2', '2 2', '2 3'], 'the real apiserver');
  t.deepEqual(twinSeen, real, 'the twin answers as the real apiserver');
});

/** A pod template as the chart writes its Jobs': an account, hostNetwork false. */
const template = {
  metadata: { labels: { app: 'gen' } },
  spec: { serviceAccountName: 'gen', hostNetwork: false, restartPolicy: 'OnFailure', containers: [{ name: 'gen', image: 'busybox:1.37' }] },
};

real('defaults and v1 output of pod templates, Jobs and CronJobs: what the server adds, drops and leaves alone', async (t) => {
  const twin = await twinForTest(t);
  const objects = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'gen', namespace: 'default' } },
    { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'gen', namespace: 'default' }, spec: { template } },
    { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'gen', namespace: 'default' }, spec: { schedule: '0 0 1 */4 *', jobTemplate: { spec: { template } } } },
  ];
  /** The fields in question, as `kubectl get -o json` shows them. @param {(args: string[], input?: string) => Promise<{ code: number, stdout: string, stderr: string }>} run */
  const shown = async (run) => {
    const c = await run(['create', '-f', '-'], objects.map((o) => JSON.stringify(o)).join('\n'));
    if (c.code !== 0) throw new Error(c.stderr);
    const job = JSON.parse((await run(['get', 'job', 'gen', '-o', 'json'])).stdout);
    const cron = JSON.parse((await run(['get', 'cronjob', 'gen', '-o', 'json'])).stdout);
    const jt = cron.spec.jobTemplate;
    return {
      job: { manualSelector: job.spec.manualSelector, backoffLimit: job.spec.backoffLimit, templateCreated: job.spec.template.metadata.creationTimestamp,
        hostNetwork: job.spec.template.spec.hostNetwork, serviceAccount: job.spec.template.spec.serviceAccount },
      cronJobTemplate: { created: jt.metadata?.creationTimestamp, backoffLimit: jt.spec.backoffLimit, completions: jt.spec.completions,
        suspend: jt.spec.suspend, podCreated: jt.spec.template.metadata.creationTimestamp, hostNetwork: jt.spec.template.spec.hostNetwork,
        serviceAccount: jt.spec.template.spec.serviceAccount, dnsPolicy: jt.spec.template.spec.dnsPolicy },
    };
  };
  const real = await shown((args, input) => k(args, input));
  const twinShown = await shown((args, input) => twin.kubectl(args, { input }));
  t.deepEqual(real, {
    job: { manualSelector: false, backoffLimit: 6, templateCreated: null, hostNetwork: undefined, serviceAccount: 'gen' },
    cronJobTemplate: { created: null, backoffLimit: undefined, completions: undefined, suspend: undefined, podCreated: null,
      hostNetwork: undefined, serviceAccount: 'gen', dnsPolicy: 'ClusterFirst' },
  }, 'the real apiserver');
  t.deepEqual(twinShown, real, 'the twin answers as the real apiserver');
});
