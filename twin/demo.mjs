#!/usr/bin/env node
// @ts-check
// `npm run demo`: the whole runbook, rehearsed offline. Starts the cluster twin
// (two simulated K3s clusters on loopback, on addresses of its own), writes its
// kubeconfig and a matching env file into its temporary folder, runs
// `npm run all` against it with the runbook's normal output, and stops the twin
// (removing the folder). With CILIUM=/path/to/cilium the runbook runs that
// binary (e.g. the real CLI v0.19.x) instead of the twin's stand-in.
// Extra arguments go to all.mjs (e.g. `npm run demo -- --verbose`).
// It ends by printing the path of step 09's picture of the failover drill,
// which stays in .runbook/failover (RUNBOOK_FAILOVER_DIR) after the twin is gone.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTwin } from './twin.mjs';
import { twinEnv, writeTwinEnv, processEnvFor, ciliumFromEnv, ciliumBinDir } from './runbook-env.mjs';
import { onStopRequest } from './lifecycle.mjs';
import { ensureKubectl } from '../tools/ensure-kubectl.mjs';
import { failoverDir } from '../scripts/lib/drill-record.mjs';

const ALL = fileURLToPath(new URL('../scripts/all.mjs', import.meta.url));

const cilium = ciliumFromEnv();
await ensureKubectl();
/** @type {import('node:child_process').ChildProcess | undefined} */
let child;
/** @type {Error | undefined} */
let fatal;
let twin;
try {
  twin = await startTwin({
    cleanup: true,
    onFatal: (err) => {
      fatal = err;
      console.error(`\n✘ The twin stops: ${err.message}`);
      child?.kill('SIGTERM');
    },
  });
} catch (err) {
  console.error(`✘ The twin cannot start: ${/** @type {Error} */ (err).message}`);
  process.exit(1);
}
const ciliumBin = cilium ? ciliumBinDir(twin, cilium) : undefined;
const envFile = writeTwinEnv(twin, twinEnv(twin));
console.log(`Cluster twin up: ${twin.clusters.a.context} at ${twin.clusters.a.server.url}, ` +
  `${twin.clusters.b.context} at ${twin.clusters.b.server.url} (simulated K3s + Cilium on 127.${twin.net.split('.')[1]}.x.y, loopback only)`);
console.log(`cilium: ${cilium ? `${cilium} (CILIUM)` : 'the twin\'s stand-in (CILIUM=/path/to/cilium uses another)'}`);
console.log(`Running: npm run all   (RUNBOOK_ENV=${envFile})`);

const env = processEnvFor(twin, envFile, { ciliumBin });
const records = failoverDir(env);
const earlier = new Set(svgFiles(records));
const running = spawn(process.execPath, [ALL, ...process.argv.slice(2)], { stdio: 'inherit', env });
child = running;
// A signal is passed on as it came (all.mjs says how to resume); its parent going away, as SIGTERM.
onStopRequest((why) => running.kill(/^SIG/.test(why) ? /** @type {NodeJS.Signals} */ (why) : 'SIGTERM'));
const code = await new Promise((resolve) => running.on('exit', (c, sig) => resolve(c ?? (sig ? 130 : 1))));

console.log('\nThe twin stops now and removes its folder; `npm run twin` keeps one running to try the steps one by one.');
const picture = drillPicture(records, earlier, `127.${twin.net.split('.')[1]}.`);
await twin.stop();
if (picture) {
  const rel = relative(process.cwd(), picture);
  console.log(`The failover drill as a picture: ${rel && !rel.startsWith('..') ? rel : picture}`);
}
process.exit(fatal ? 1 : code);

/** The .svg files in a folder ([] when there is none). @param {string} dir */
function svgFiles(dir) {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.svg')).map((f) => join(dir, f)) : [];
}

/**
 * The picture step 09 saved during this run: new in the folder, its record's
 * VIP on this twin's addresses (another demo may save beside it); the latest.
 * @param {string} dir @param {Set<string>} earlier @param {string} prefix e.g. "127.1."
 */
function drillPicture(dir, earlier, prefix) {
  const ours = svgFiles(dir).filter((f) => !earlier.has(f)).filter((f) => {
    try {
      return String(JSON.parse(readFileSync(f.replace(/\.svg$/, '.json'), 'utf8')).vip).startsWith(prefix);
    } catch {
      return false;
    }
  });
  return ours.sort().at(-1);
}
