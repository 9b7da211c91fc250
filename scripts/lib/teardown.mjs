// @ts-check
// Mechanics of the teardown (step 10): its confirmation, the checks that look
// before anything is deleted (so a teardown interrupted anywhere finishes when
// run again, and a second one changes nothing), and the uninstall over a Helm
// release left pending. The commands themselves are written in scripts/10-teardown.mjs.
import { question } from 'zx';
import { kubectl } from './commands.mjs';
import { code } from './plan.mjs';
import { bashOf } from './bash-text.mjs';
import { ciliumRelease, ciliumReleases, getObjects } from './probes.mjs';
import { settled } from './install-cilium.mjs';
import { out } from './output.mjs';
import { ToolError } from './runtime.mjs';
import { APISERVER, meshPeers } from './mesh.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./actions.js').CheckResult} CheckResult */
/** @typedef {import('./actions.js').Code} Code */
/** @typedef {import('./actions.js').StepOptions} StepOptions */
/** @typedef {import('./commands.mjs').Cmd} Cmd */
/** @typedef {import('./runtime.mjs').Runtime} Runtime */

/**
 * Secrets the clustermesh-apiserver's certgen job makes (tls.auto.method=cronJob):
 * outside the Helm release, so neither `clustermesh disable` nor `uninstall` removes them.
 */
export const MESH_CERTS = ['server', 'admin', 'remote', 'local'].map((n) => `${APISERVER}-${n}-cert`);
/** What `cilium clustermesh disable` removes: the apiserver, its Service, the mesh config Secrets. */
const MESH_OBJECTS = [`deployment/${APISERVER}`, `service/${APISERVER}`, 'secret/cilium-clustermesh', 'secret/cilium-kvstoremesh'];
/** Seconds `cilium uninstall --wait` itself gives the Helm upgrade that disables Hubble first (the CLI's defaults.UninstallTimeout). */
export const HUBBLE_DISABLE_WAIT = 300;
/** Cilium's workloads, gone once an uninstall has finished. */
export const CILIUM_WORKLOADS = ['daemonset/cilium', 'deployment/cilium-operator', 'deployment/hubble-relay', 'deployment/hubble-ui'];

/**
 * Which of these objects exist: `kubectl get … -o name`, names only (no Secret
 * data is read). null when the cluster does not serve one of the kinds.
 * @param {Runtime} rt @param {ClusterConfig} c @param {string | null} namespace @param {string[]} refs
 * @returns {Promise<string[] | null>} e.g. ["deployment.apps/clustermesh-apiserver"]
 */
async function existing(rt, c, namespace, refs) {
  const ns = namespace ? ['-n', namespace] : [];
  try {
    const { stdout } = await rt.probe(kubectl`--context ${c.context} get ${ns} ${refs} -o name --ignore-not-found`);
    return stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  } catch (err) {
    if (err instanceof ToolError && /doesn't have a resource type/.test(err.stderr)) return null;
    throw err;
  }
}

/** "deployment.apps/x" → "deployment/x". @param {string} name */
const short = (name) => name.replace(/^([^./]+)[^/]*\//, '$1/');

/**
 * Asks before a teardown: --yes, or "yes" typed on a terminal. Without a
 * terminal and without --yes it refuses, before anything is touched.
 * @param {Config} config
 * @param {StepOptions} opts
 * @returns {Promise<string | null>}
 */
export async function confirmTeardown(config, opts) {
  if (opts.flags.has('yes')) return null;
  const what = `This removes the runbook's work from ${config.a.context} and ${config.b.context}: namespace ${config.echo.namespace}, ` +
    'the mesh, the IP pools and Cilium itself (pods lose their network until a CNI runs again).';
  if (!process.stdin.isTTY) {
    return `${what}\nrefused: nothing was changed. Pass --yes to confirm (npm run teardown -- --yes); stdin is not a terminal to ask on.`;
  }
  const answer = await question(`${what}\nType yes to go on: `);
  return answer.trim() === 'yes' ? null : 'not confirmed: nothing was changed.';
}

/**
 * Step 08 undone? Done when the echo namespace is gone; 'verify' while it is Terminating.
 * @param {Runtime} rt @param {Config} config @param {ClusterConfig} c
 * @returns {Promise<CheckResult>}
 */
export async function echoDeleted(rt, config, c) {
  const ns = config.echo.namespace;
  const live = (await getObjects(rt, c, null, [`namespace/${ns}`])).get(`namespace/${ns}`);
  if (!live) return { state: 'done', detail: 'not there' };
  if (live.metadata?.deletionTimestamp) return { state: 'verify', detail: 'Terminating' };
  return { state: 'todo' };
}

/**
 * Who still lists whom, or which cluster has no Cilium release (then there is
 * nothing to disconnect: uninstalling the other takes the rest).
 * @param {Runtime} rt @param {Config} config
 * @returns {Promise<{ gone: ClusterConfig | null, listed: string[] }>}
 */
async function peering(rt, { a, b }) {
  const [ra, rb] = await Promise.all([ciliumRelease(rt, a), ciliumRelease(rt, b)]);
  if (!ra || !rb) return { gone: !ra ? a : b, listed: [] };
  return {
    gone: null,
    listed: [
      ...(meshPeers(ra.values).includes(b.name) ? [`${a.context} lists ${b.name}`] : []),
      ...(meshPeers(rb.values).includes(a.name) ? [`${b.context} lists ${a.name}`] : []),
    ],
  };
}

/**
 * Step 07 undone? Done when neither cluster's Helm values list the other (or one has no Cilium left).
 * @param {Runtime} rt @param {Config} config
 * @returns {Promise<CheckResult>}
 */
export async function meshDisconnected(rt, config) {
  const { gone, listed } = await peering(rt, config);
  if (gone) return { state: 'done', detail: `no Cilium on ${gone.context}: nothing to disconnect` };
  if (!listed.length) return { state: 'done', detail: 'not connected' };
  return { state: 'todo', detail: listed.join(', ') };
}

/** After the disconnect: neither cluster lists the other. @param {Runtime} rt @param {Config} config */
export async function disconnectedAfter(rt, config) {
  const { listed } = await peering(rt, config);
  if (listed.length) throw new Error(`after the disconnect: ${listed.join(', ')}`);
}

/**
 * Step 06 undone? Done when none of the clustermesh-apiserver, its Service, the mesh
 * configuration Secrets and certgen's certificates is left. `data.enabled`: the
 * apiserver or its configuration is still there (not only certificates).
 * @param {Runtime} rt @param {ClusterConfig} c
 * @returns {Promise<CheckResult>}
 */
export async function meshDisabled(rt, c) {
  const names = (await existing(rt, c, 'kube-system', [...MESH_OBJECTS, ...MESH_CERTS.map((n) => `secret/${n}`)])) ?? [];
  if (!names.length) return { state: 'done', detail: 'not enabled' };
  const enabled = names.some((n) => MESH_OBJECTS.includes(short(n)));
  const certs = names.filter((n) => !MESH_OBJECTS.includes(short(n))).length;
  return {
    state: 'todo',
    detail: [...(enabled ? ['enabled'] : []), ...(certs ? [`${certs} certificate Secret${certs > 1 ? 's' : ''} of certgen`] : [])].join('; '),
    data: { enabled },
  };
}

/**
 * The command, run only when meshDisabled found the mesh enabled (an interrupted
 * teardown may have left only the certificates, and a disable there would be a
 * needless Helm upgrade). Its bash is the command's.
 * @param {Cmd} cmd
 * @returns {Code}
 */
export const whenEnabled = (cmd) => code([bashOf(cmd)], async (rt, check) => {
  if (check.state === 'todo' && check.data?.enabled) await rt.exec(cmd);
});

/**
 * Steps 05 and 04 undone? Done when none of these pools and policies is left, or
 * when Cilium's pool kinds are not served.
 * @param {Runtime} rt @param {ClusterConfig} c @param {string[]} refs
 * @returns {Promise<CheckResult>}
 */
export async function poolsDeleted(rt, c, refs) {
  const names = await existing(rt, c, null, refs);
  if (!names) return { state: 'done', detail: "Cilium's pool kinds are not served: nothing to delete" };
  if (!names.length) return { state: 'done', detail: 'not there' };
  return { state: 'todo', detail: `found ${names.map(short).join(', ')}` };
}

/**
 * Steps 01 and 03 undone? Done when no Helm release `cilium` is recorded (in
 * any state: a failed or interrupted one is uninstalled too).
 * @param {Runtime} rt @param {ClusterConfig} c
 * @returns {Promise<CheckResult>}
 */
export async function ciliumUninstalled(rt, c) {
  const history = await ciliumReleases(rt, c);
  if (!history.length) return { state: 'done', detail: 'no Cilium Helm release' };
  const newest = history[0].status === 'deployed' ? '' : `, the newest ${history[0].status}`;
  return { state: 'todo', detail: `${history.length} Helm revision${history.length > 1 ? 's' : ''} recorded${newest}` };
}

/**
 * The uninstall. With --wait the CLI first disables Hubble with a Helm upgrade
 * and then waits, with no deadline, for the hubble-relay pods to go: when that
 * upgrade cannot run (the newest revision is pending, left by a killed install
 * or upgrade, or failed with none deployed) they never go. So `uninstall` (with
 * --wait) only over a deployed release; otherwise `plain` (without) and then
 * `gone` (kubectl waiting, bounded, for Cilium's workloads). A revision still
 * pending is first given until TIMEOUT_CILIUM after it began to finish (a killed
 * run's cilium may be at it). Its bash is `uninstall`'s: what a built pair needs.
 * @param {Config} config @param {ClusterConfig} c
 * @param {{ uninstall: Cmd, plain: Cmd, gone: Cmd }} cmds
 * @returns {Code}
 */
export const uninstallCilium = (config, c, { uninstall, plain, gone }) => code([bashOf(uninstall)], async (rt) => {
  const newest = (await settled(rt, config, c, await ciliumReleases(rt, c)))[0];
  if (!newest) return 'gone meanwhile';
  if (newest.status === 'deployed') {
    await rt.exec(uninstall);
    return undefined;
  }
  out.warn(`  Helm release cilium on ${c.context} is ${newest.status} (revision ${newest.revision}): cilium could not disable Hubble ` +
    'first and `uninstall --wait` would wait for hubble-relay with no deadline; uninstalling without --wait, then waiting for the workloads');
  await rt.exec(plain);
  await rt.exec(gone);
  return `uninstalled the ${newest.status} release without disabling Hubble first`;
});

/**
 * Step 02 undone? Done when B holds no cilium-ca (uninstalling Cilium takes it
 * when the chart rendered it; the check reads names only, never the key).
 * @param {Runtime} rt @param {Config} config
 * @returns {Promise<CheckResult>}
 */
export async function copiedCaDeleted(rt, { b }) {
  const names = await existing(rt, b, 'kube-system', ['secret/cilium-ca']);
  return names?.length ? { state: 'todo' } : { state: 'done', detail: 'not there' };
}
