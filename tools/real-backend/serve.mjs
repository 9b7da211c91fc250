#!/usr/bin/env node
// @ts-check
// `npm run real`: keeps two real-backend clusters running (etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and three kwok nodes
// each, CIDRs as the twin's clusters a and b) with one kubeconfig whose
// contexts are cluster-a and cluster-b. When cilium-operator-generic is built,
// each cluster runs it while the chart's operator Deployment exists
// (operator-watch.mjs). Prints the versions it runs and the line that points a
// shell at it. Ctrl-C, SIGTERM, SIGHUP or its parent going
// away stops it and removes its folder.
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterBinaries, startCluster } from './cluster.mjs';
import { watchOperator } from './operator-watch.mjs';
import { realBinary } from '../build-real.mjs';
import { renderKubeconfig, writeKubeconfig } from '../../twin/kubeconfig.mjs';
import { onStopRequest } from '../../twin/lifecycle.mjs';

const CLUSTERS = {
  a: { nodes: { count: 3, ipBase: '127.0.10.1' }, podCidr: '10.42.0.0/16', serviceCidr: '10.96.0.0/12' },
  b: { nodes: { count: 3, ipBase: '127.0.20.1' }, podCidr: '10.43.0.0/16', serviceCidr: '10.112.0.0/12' },
};

const { bins, missing } = clusterBinaries({ nodes: true });
const operator = realBinary('cilium-operator-generic');
if (missing.length) {
  console.log(`real: not built: ${missing.join(', ')} (npm run build:real builds them when Go is there).`);
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), 'clustermesh-real-'));
/** @type {import('./cluster.mjs').RealCluster[]} */
const running = [];
/** @type {ReturnType<typeof watchOperator>[]} */
const watchers = [];
const stop = async () => {
  for (const w of watchers) await w.stop();
  for (const c of running) await c.stop();
  await rm(dir, { recursive: true, force: true });
};
try {
  const started = Date.now();
  for (const [key, c] of Object.entries(CLUSTERS)) running.push(await startCluster({ dir: join(dir, key), key, controllers: true, ...c }));
  const kubeconfig = join(dir, 'kubeconfig.yaml');
  await writeKubeconfig(kubeconfig, renderKubeconfig(running.map((c, i) => ({
    name: `cluster-${Object.keys(CLUSTERS)[i]}`, server: c.server, caCert: c.pki.caCert, clientCert: c.pki.clientCert, clientKey: c.pki.clientKey,
  })), 'cluster-a'));
  if (operator.built) {
    for (const c of running) watchers.push(watchOperator({ cluster: c, bin: operator.path, host: '127.0.0.1', readyMs: 120_000, log: (l) => console.log(`${c.dir}: ${l}`) }));
  }
  for (const b of [...Object.values(bins), ...(operator.built ? [operator] : [])]) console.log(`  ${b.bin} ${b.version}`);
  console.log(`Two real clusters up in ${((Date.now() - started) / 1000).toFixed(1)} s (${dir}).`);
  console.log(`export KUBECONFIG=${kubeconfig}`);
} catch (e) {
  console.error(`✘ The real backend cannot start: ${/** @type {Error} */ (e).message}`);
  await stop();
  process.exit(1);
}
onStopRequest(async () => {
  await stop();
  process.exit(0);
});
