#!/usr/bin/env node
// @ts-check
// `npm run twin`: keeps a cluster twin running for a workshop on a laptop with
// no clusters. Prints the lines that point a shell at it; then run the steps
// one by one (`npm run 01`, …) or plain kubectl and cilium commands. With
// CILIUM=/path/to/cilium the PATH line brings that binary instead of the
// stand-in. Ctrl-C, SIGTERM, SIGHUP or its parent (npm) going away stops it
// and removes its folder.
import { startTwin } from './twin.mjs';
import {
  twinEnv, writeTwinEnv, processEnvFor, ciliumFromEnv, ciliumBinDir, pathExport, TWIN_BIN, TOOLS_BIN,
} from './runbook-env.mjs';
import { onStopRequest } from './lifecycle.mjs';
import { ensureKubectl } from '../tools/ensure-kubectl.mjs';

const cilium = ciliumFromEnv();
const kubectl = await ensureKubectl();
/** @type {import('./server/types.js').RunningTwin | undefined} */
let twin;
let exiting = false;
const exit = async (/** @type {number} */ code) => {
  if (exiting) return;
  exiting = true;
  await twin?.stop();
  process.exit(code);
};
try {
  twin = await startTwin({
    cleanup: true,
    onFatal: (err) => {
      console.error(`\n✘ The twin stops: ${err.message}`);
      void exit(1);
    },
  });
} catch (err) {
  console.error(`✘ The twin cannot start: ${/** @type {Error} */ (err).message}`);
  process.exit(1);
}
onStopRequest(async (why) => {
  if (why !== 'SIGINT') console.error(`Stopping the twin (${why}).`);
  await exit(0);
});
const ciliumBin = cilium ? ciliumBinDir(twin, cilium) : undefined;
const envFile = writeTwinEnv(twin, twinEnv(twin));
const env = processEnvFor(twin, envFile, { ciliumBin });
const bins = [ciliumBin ?? TWIN_BIN, ...(kubectl.source === 'path' ? [] : [TOOLS_BIN])];
console.log(`Cluster twin running (pid ${process.pid}, addresses 127.${twin.net.split('.')[1]}.x.y): ` +
  `${twin.clusters.a.context} at ${twin.clusters.a.server.url}, ${twin.clusters.b.context} at ${twin.clusters.b.server.url}.`);
console.log('In another shell, point kubectl, cilium and the runbook at it:\n');
console.log(`  export KUBECONFIG=${env.KUBECONFIG}`);
console.log(`  export RUNBOOK_ENV=${env.RUNBOOK_ENV}`);
console.log(`  ${pathExport(bins)}`);
console.log(`\ncilium is ${cilium ? `${cilium} (CILIUM)` : 'the twin\'s stand-in'}. To rehearse with another one (e.g. the real CLI ` +
  'v0.19.x), restart with `CILIUM=/path/to/cilium npm run twin`; `CILIUM=/path/to/cilium npm run demo` runs the whole rehearsal with it.');
console.log('Then e.g. `npm run 01`, `kubectl --context cluster-a get nodes`, `cilium status --context cluster-a`.');
console.log('Ctrl-C stops the twin and removes its folder.');
