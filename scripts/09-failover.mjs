#!/usr/bin/env node
// @ts-check
/**
 * Step 09 — Failover from B to A
 *
 * Scale cluster B's echo Deployment to zero and keep asking the VIP whose
 * answers come from B's pods; the drill first checks that they do, so that A's
 * page afterwards means a failover and not the usual answer.
 *
 *   - affinity local (the default) or none: B's VIP. With local, Cilium on B has
 *     no local endpoint left and sends the requests to cluster A's pods through
 *     the mesh: B's VIP answers with cluster A's page.
 *   - affinity remote: B's VIP answers from A's pods all along, so scaling B
 *     proves nothing there. A's VIP answers from B's pods instead; with B's gone,
 *     Cilium on A falls back to its own pods: A's VIP answers with A's page.
 *
 * The step reports how long that took and how many requests failed meanwhile,
 * then scales B back and checks that the VIP answers from B again.
 *
 * B is restored also when the drill fails or is interrupted (Ctrl-C), unless
 * --keep-down is given. A passed drill is recorded on B's Deployment (annotation
 * clustermesh-runbook.io/failover-drill); run with --again to repeat it.
 *
 * You should see: "cluster-a answered on cluster-b's VIP …s after scale-down"
 * (with remote affinity: on cluster-a's VIP).
 */
import { defineStep, runIfMain } from './lib/step.mjs';
import { failoverDrill } from './lib/failover.mjs';

export const step = defineStep({
  id: '09',
  name: '09-failover',
  title: 'Failover from B to A',
  file: import.meta.url,
  tools: ['cilium'],
  options: [
    { flag: 'keep-down', help: "leave B's echo scaled to 0 after the drill" },
    { flag: 'again', help: 'repeat the drill even if it passed before' },
  ],
  actions: (config, opts) => [failoverDrill(config, opts.flags)],
});

await runIfMain(step);
