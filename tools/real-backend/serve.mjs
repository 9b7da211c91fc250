#!/usr/bin/env node
// @ts-check
// `npm run real`: keeps the real backend running (backend.mjs: two clusters
// with one kubeconfig whose contexts are cluster-a and cluster-b, the real
// operator for the chart's Deployment, the data plane and agent exec model on
// loopback). Prints the versions it runs and the line that points a shell at
// it. Ctrl-C, SIGTERM, SIGHUP or its parent going away stops it and removes
// its folder.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendBinaries, startBackend } from './backend.mjs';
import { onStopRequest } from '../../twin/lifecycle.mjs';

const { bins, missing } = backendBinaries();
if (missing.length) {
  console.log(`real: not built: ${missing.join(', ')} (npm run build:real builds them when Go is there).`);
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), 'clustermesh-real-'));
/** @type {import('./backend.mjs').Backend | undefined} */
let backend;
try {
  const started = Date.now();
  backend = await startBackend({ dir, log: (l) => console.log(l) });
  for (const b of Object.values(bins)) console.log(`  ${b.bin} ${b.version}`);
  console.log(`Two real clusters up in ${((Date.now() - started) / 1000).toFixed(1)} s (${dir}).`);
  console.log(`export KUBECONFIG=${backend.kubeconfig}`);
} catch (e) {
  console.error(`✘ The real backend cannot start: ${/** @type {Error} */ (e).message}`);
  process.exit(1);
}
onStopRequest(async () => {
  await backend?.stop();
  process.exit(0);
});
