#!/usr/bin/env node
// @ts-check
/**
 * Step 09 — Failover from B to A
 *
 * Scale cluster B's echo Deployment to zero and keep asking B's VIP. With the
 * global Service and affinity local, Cilium on B has no local endpoint left and
 * sends the requests to cluster A's pods through the mesh: B's VIP answers with
 * cluster A's page. The step reports how long that took and how many requests
 * failed meanwhile, then scales B back and checks that B answers again.
 *
 * B is restored also when the drill fails or is interrupted (Ctrl-C), unless
 * --keep-down is given. A passed drill is recorded on B's Deployment (annotation
 * clustermesh-runbook.io/failover-drill); run with --again to repeat it.
 *
 * You should see: "cluster-a answered on cluster-b's VIP …s after scale-down".
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
