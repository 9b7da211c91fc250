// @ts-check
// Controllers of the twin, what runs "inside" the two simulated clusters:
// workloads (Deployments, ReplicaSets, DaemonSets, pods, the CNI rule), Jobs
// (and what certgen does in their pods), CronJobs, PodDisruptionBudget status,
// cilium-operator (CRDs, LB-IPAM) and, when asked for, K3s's ServiceLB.
// All are driven by store events and use twin.options.delays; stop() clears
// their timers. meshState is exported here for the cilium stand-in and tests.
import { startWorkloads } from './workloads.mjs';
import { startOperator } from './operator.mjs';
import { startLbIpam } from './lbipam.mjs';
import { startServiceLb } from './servicelb.mjs';
import { startJobs } from './jobs.mjs';
import { startDisruption } from './disruption.mjs';
import { startCronJobs } from './cronjobs.mjs';

export { meshState, configuredRemotes, caFingerprint } from './mesh.mjs';

/** @param {import('../types.js').Twin} twin @returns {import('../types.js').Stoppable} */
export function startControllers(twin) {
  const parts = [startWorkloads(twin), startJobs(twin), startCronJobs(twin), startDisruption(twin), startOperator(twin), startLbIpam(twin), startServiceLb(twin)];
  return {
    stop() {
      for (const p of parts.reverse()) p.stop();
    },
  };
}
