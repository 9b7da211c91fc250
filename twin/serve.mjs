#!/usr/bin/env node
// @ts-check
// `npm run twin`: keeps a cluster twin running for a workshop on a laptop with
// no clusters. Prints the three lines that point a shell at it; then run the
// steps one by one (`npm run 01`, …) or plain kubectl and cilium commands.
// Ctrl-C stops it.
import { startTwin } from './twin.mjs';
import { twinEnv, writeTwinEnv, processEnvFor } from './runbook-env.mjs';
import { ensureKubectl } from '../tools/ensure-kubectl.mjs';

await ensureKubectl();
const twin = await startTwin({});
const envFile = writeTwinEnv(twin, twinEnv(twin));
const env = processEnvFor(twin, envFile);
console.log(`Cluster twin running: ${twin.clusters.a.context} at ${twin.clusters.a.server.url}, ` +
  `${twin.clusters.b.context} at ${twin.clusters.b.server.url}.`);
console.log('In another shell, point kubectl, cilium and the runbook at it:\n');
console.log(`  export KUBECONFIG=${env.KUBECONFIG}`);
console.log(`  export RUNBOOK_ENV=${env.RUNBOOK_ENV}`);
console.log(`  export PATH=${env.PATH}`);
console.log('\nthen e.g. `npm run 01`, `kubectl --context cluster-a get nodes`, `cilium status --context cluster-a`.');
console.log('Ctrl-C stops the twin.');

const stop = async () => {
  await twin.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
