#!/usr/bin/env node
// @ts-check
// `npm run docs`: the lab guide, docs/NN-<step>.md and docs/README.md, written
// from the steps' own declarations. Each page: the lesson (the step's header
// comment), every command with env.example's settings (the article's), and
// what a real run printed on the cluster twin, then "Next:". Output that
// changes from run to run (times, counts of failed requests) is normalised and
// the twin's loopback addresses are shown as the article's, so the pages only
// change when a step does. `--out <dir>` writes elsewhere (the staleness test).
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startTwin } from '../twin/twin.mjs';
import { twinEnv, writeTwinEnv, processEnvFor } from '../twin/runbook-env.mjs';
import { ensureKubectl } from './ensure-kubectl.mjs';
import { STEPS, KUBECONFIG_STEP, TEARDOWN } from '../scripts/steps.mjs';
import { exampleConfig } from '../scripts/lib/example-config.mjs';
import { guidePage, guideIndex, shownOutput } from './docs-pages.mjs';

/** @typedef {import('../scripts/lib/types.js').Config} Config */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The docs' twin: apart from the demo (127.0/127.1), the tests (127.30–249) and the bench (127.28). */
const NET = '127.27';
const CHILD_LIMIT_MS = 300_000;
/** Step 00 as the article's reader runs it: the K3s kubeconfigs copied from the servers. */
const K3S_VARS = {
  CLUSTER_A_K3S_KUBECONFIG: '~/k3s-a.yaml', CLUSTER_B_K3S_KUBECONFIG: '~/k3s-b.yaml',
  CLUSTER_A_API_HOST: '192.168.254.10', CLUSTER_B_API_HOST: '192.168.254.11',
};

/**
 * Runs one step script on the twin and returns what it printed.
 * @param {string} name e.g. "01-install-a" @param {string[]} args @param {NodeJS.ProcessEnv} env
 * @returns {Promise<string>}
 */
function runStep(name, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts', `${name}.mjs`), ...args],
      { env: { ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_LIMIT_MS);
    child.stdout.on('data', (d) => { text += d; });
    child.stderr.on('data', (d) => { text += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(text);
      else reject(new Error(`scripts/${name}.mjs exited ${code ?? 'on a signal'} on the twin:\n${text}`));
    });
  });
}

/** env.example's timeouts, so that the twin run waits as the article's settings say. @param {Config} c */
function timeoutsOf(c) {
  const t = c.timeouts;
  return {
    TIMEOUT_CILIUM: `${t.cilium}s`, TIMEOUT_RESOURCES: `${t.resources}s`, TIMEOUT_MESH: `${t.mesh}s`,
    TIMEOUT_ROLLOUT: `${t.rollout}s`, TIMEOUT_HTTP: `${t.http}s`, TIMEOUT_FAILOVER: `${t.failover}s`,
  };
}

/**
 * The twin's values → the article's: the first three octets of the ClusterMesh
 * IPs and pools, the echo port, the twin's folder.
 * @param {Record<string, string>} vars the twin's settings @param {Config} example @param {string} dir
 * @returns {[RegExp, string][]}
 */
function articleValues(vars, example, dir) {
  const prefix = (/** @type {string} */ ip) => ip.split('.').slice(0, 3).join('.');
  /** @type {Map<string, string>} */
  const prefixes = new Map();
  for (const c of example.clusters) {
    const K = c.label;
    prefixes.set(prefix(vars[`CLUSTER_${K}_MESH_IP`]), prefix(c.meshIp));
    prefixes.set(prefix(vars[`CLUSTER_${K}_APP_POOL_START`]), prefix(c.appPool.start));
  }
  const esc = (/** @type {string} */ s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return [
    [new RegExp(esc(join(dir, 'failover')), 'g'), '.runbook/failover'],
    [new RegExp(esc(dir), 'g'), '~/twin'],
    ...[...prefixes].map(([from, to]) => /** @type {[RegExp, string]} */ ([new RegExp(`\\b${esc(from)}\\.(\\d+)\\b`, 'g'), `${to}.$1`])),
    [new RegExp(`:${vars.ECHO_SERVICE_PORT}\\b`, 'g'), `:${example.echo.servicePort}`],
  ];
}

async function main() {
  const { values } = parseArgs({ options: { out: { type: 'string', default: join(ROOT, 'docs') } } });
  const out = /** @type {string} */ (values.out);
  const example = exampleConfig();
  await ensureKubectl({ log: () => {} });
  const twin = await startTwin({ nodeIpBase: { a: `${NET}.10.1`, b: `${NET}.20.1` }, cleanup: true });
  /** @type {Map<string, string>} */
  const printed = new Map();
  const vars = twinEnv(twin, { net: NET, overrides: timeoutsOf(example) });
  const replace = articleValues(vars, example, twin.dir);
  try {
    // Step 09's drill records go into the twin's folder, shown as their default place.
    const env = { ...processEnvFor(twin, writeTwinEnv(twin, vars)), RUNBOOK_FAILOVER_DIR: join(twin.dir, 'failover') };
    // Step 00 merges the twin's K3s kubeconfigs into a file of its own; the others use the twin's kubeconfig.
    printed.set('00', await runStep(KUBECONFIG_STEP.name, [], {
      ...env, KUBECONFIG: join(twin.dir, 'merged', 'config'), ...K3S_VARS,
      CLUSTER_A_K3S_KUBECONFIG: twin.clusters.a.k3sKubeconfig, CLUSTER_B_K3S_KUBECONFIG: twin.clusters.b.k3sKubeconfig,
    }));
    for (const step of STEPS) printed.set(step.id, await runStep(step.name, [], env));
    printed.set(TEARDOWN.id, await runStep(TEARDOWN.name, ['--yes'], env));
  } finally {
    await twin.stop();
  }
  const pages = [KUBECONFIG_STEP, ...STEPS, TEARDOWN];
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(out)) if (/^\d\d-.+\.md$/.test(f)) rmSync(join(out, f));
  pages.forEach((step, i) => {
    writeFileSync(join(out, `${step.name}.md`), guidePage({
      step, config: step === KUBECONFIG_STEP ? exampleConfig(K3S_VARS) : example,
      output: shownOutput(printed.get(step.id) ?? '', { replace }), next: pages[i + 1], prev: pages[i - 1],
    }));
  });
  writeFileSync(join(out, 'README.md'), guideIndex(pages));
  console.log(`wrote ${pages.length} pages and the index to ${out}`);
}

await main();
