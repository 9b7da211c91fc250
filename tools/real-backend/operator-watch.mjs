// @ts-check
// What stands in for the kubelet running the chart's operator pod: while the
// Deployment kube-system/cilium-operator exists on a real-backend cluster, the
// real cilium-operator-generic runs on the host for it, with the data of the
// ConfigMap kube-system/cilium-config the chart rendered; when the Deployment
// goes, the operator is stopped. Polls the apiserver once a second.
import { adminGet } from './apiserver.mjs';
import { startOperator } from './operator.mjs';
import { everySecond } from './poll.mjs';

const DEPLOYMENT = '/apis/apps/v1/namespaces/kube-system/deployments/cilium-operator';
const CONFIG = '/api/v1/namespaces/kube-system/configmaps/cilium-config';

/**
 * @param {{ cluster: import('./cluster.mjs').RealCluster, bin: string, host: string, readyMs: number, log?: (line: string) => void }} o
 *   log: one line per start, stop or failure of the operator
 * @returns {{ stop: () => Promise<void>, running: () => import('./procs.mjs').Proc | undefined }}
 */
export function watchOperator(o) {
  const log = o.log ?? (() => {});
  /** @type {import('./procs.mjs').Proc | undefined} */
  let proc;
  const loop = everySecond(async () => {
    const deployment = await adminGet(o.cluster.server, o.cluster.pki, DEPLOYMENT);
    if (deployment.status === 200 && !proc?.alive()) {
      const cm = await adminGet(o.cluster.server, o.cluster.pki, CONFIG);
      if (cm.status !== 200) return; // the chart's ConfigMap comes in the same install: next tick
      const config = JSON.parse(cm.body).data ?? {};
      proc = await startOperator({ bin: o.bin, dir: o.cluster.dir, kubeconfig: o.cluster.kubeconfig, host: o.host, config, readyMs: o.readyMs });
      log(`cilium-operator-generic started for the Deployment (pid ${proc.pid}, cluster ${config['cluster-name'] ?? '?'})`);
    } else if (deployment.status === 404 && proc?.alive()) {
      await proc.stop();
      log('cilium-operator-generic stopped: its Deployment is gone');
    }
  }, log, 'cilium-operator-generic');
  return {
    running: () => (proc?.alive() ? proc : undefined),
    async stop() {
      await loop.stop();
      await proc?.stop();
    },
  };
}
