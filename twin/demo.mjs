#!/usr/bin/env node
// @ts-check
// `npm run demo`: the whole runbook, rehearsed offline. Starts the cluster twin
// (two simulated K3s clusters on loopback), writes its kubeconfig and a matching
// env file into a temporary folder, runs `npm run all` against it with the
// runbook's normal output, says where the twin's files are, and stops the twin.
// Extra arguments go to all.mjs (e.g. `npm run demo -- --verbose`).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startTwin } from './twin.mjs';
import { twinEnv, writeTwinEnv, processEnvFor } from './runbook-env.mjs';
import { ensureKubectl } from '../tools/ensure-kubectl.mjs';

const ALL = fileURLToPath(new URL('../scripts/all.mjs', import.meta.url));

await ensureKubectl();
const twin = await startTwin({});
const envFile = writeTwinEnv(twin, twinEnv(twin));
console.log(`Cluster twin up: ${twin.clusters.a.context} at ${twin.clusters.a.server.url}, ` +
  `${twin.clusters.b.context} at ${twin.clusters.b.server.url} (simulated K3s + Cilium, loopback only)`);
console.log(`Running: npm run all   (RUNBOOK_ENV=${envFile})`);

const child = spawn(process.execPath, [ALL, ...process.argv.slice(2)], {
  stdio: 'inherit', env: processEnvFor(twin, envFile),
});
const forward = (/** @type {NodeJS.Signals} */ s) => child.kill(s);
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
const code = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 130 : 1))));

console.log(`\nThe twin's files are in ${twin.dir}:`);
console.log(`  kubeconfig   ${twin.kubeconfig}`);
console.log(`  env file     ${envFile}`);
console.log('The twin stops now; `npm run twin` keeps one running to try the steps one by one.');
await twin.stop();
process.exit(code);
