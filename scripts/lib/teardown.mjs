// @ts-check
// Undoing the runbook (step 10), in the reverse order of the steps. Each action
// looks before it deletes and does nothing where its part is already gone, so a
// teardown interrupted anywhere finishes when run again, and a second teardown
// changes nothing. Deletions use --ignore-not-found and cilium's own commands
// (disconnect, disable, uninstall), as a person would undo it by hand.
import { question } from 'zx';
import { kubectl, cilium, duration, withOpts } from './commands.mjs';
import { ciliumRelease, ciliumReleases, getObjects } from './probes.mjs';
import { settled } from './install-cilium.mjs';
import { out } from './output.mjs';
import { ToolError } from './runtime.mjs';
import { APISERVER, meshPeers } from './mesh.mjs';

export { meshPeers };
import { POOL_RESOURCE, L2_RESOURCE, APP_POOL, MESH_POOL, L2_POLICY } from './manifests.mjs';
import { bashOf } from './shell.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./actions.js').Action} Action */
/** @typedef {import('./actions.js').StepOptions} StepOptions */
/** @typedef {import('./runtime.mjs').Runtime} Runtime */

/**
 * Secrets the clustermesh-apiserver's certgen job makes (tls.auto.method=cronJob):
 * outside the Helm release, so neither `clustermesh disable` nor `uninstall` removes them.
 */
export const MESH_CERTS = ['server', 'admin', 'remote', 'local'].map((n) => `${APISERVER}-${n}-cert`);
/** What `cilium clustermesh disable` removes: the apiserver, its Service, the mesh config Secrets. */
const MESH_OBJECTS = [`deployment/${APISERVER}`, `service/${APISERVER}`, 'secret/cilium-clustermesh', 'secret/cilium-kvstoremesh'];

/**
 * Which of these objects exist: `kubectl get … -o name`, names only (no Secret
 * data is read). null when the cluster does not serve one of the kinds.
 * @param {Runtime} rt @param {ClusterConfig} c @param {string | null} namespace @param {string[]} refs
 * @returns {Promise<string[] | null>} e.g. ["deployment.apps/clustermesh-apiserver"]
 */
async function existing(rt, c, namespace, refs) {
  try {
    const { stdout } = await rt.probe(kubectl(c, 'get', ...(namespace ? ['-n', namespace] : []), ...refs, '-o', 'name', '--ignore-not-found'));
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
 * Step 08 undone: the echo namespace with its Deployment and global Service,
 * waited for until it is gone.
 * @param {Config} config
 * @param {ClusterConfig} c
 * @returns {Action}
 */
export function deleteEcho(config, c) {
  const ns = config.echo.namespace;
  const wait = { what: `namespace ${ns} on ${c.context} to be gone`, timeout: config.timeouts.resources };
  const timeout = `--timeout=${duration(config.timeouts.resources)}`;
  return {
    title: `Delete namespace ${ns} (echo and its global Service) on ${c.context}`,
    cluster: c,
    async check(rt) {
      const live = (await getObjects(rt, c, null, [`namespace/${ns}`])).get(`namespace/${ns}`);
      if (!live) return { state: 'done', detail: 'not there' };
      if (live.metadata?.deletionTimestamp) return { state: 'verify', detail: 'Terminating' };
      return { state: 'todo' };
    },
    commands: [withOpts(kubectl(c, 'delete', 'namespace', ns, '--ignore-not-found', '--wait=true', timeout), { wait })],
    verify: [withOpts(kubectl(c, 'wait', '--for=delete', `namespace/${ns}`, timeout), { wait })],
  };
}

/**
 * The deadline of a cilium command that runs Helm upgrades without waiting
 * (disconnect, disable), as the runtime gives install and connect.
 * @param {Config} config
 */
const helmDeadline = (config) => ({ seconds: config.timeouts.cilium, why: 'Helm upgrades: TIMEOUT_CILIUM' });

/**
 * Step 07 undone: `cilium clustermesh disconnect` from A, which drops each
 * cluster from the other's Helm values (both ways).
 * @param {Config} config
 * @returns {Action}
 */
export function disconnectMesh(config) {
  const { a, b } = config;
  /**
   * Who still lists whom, or which cluster has no Cilium release (then there is
   * nothing to disconnect: uninstalling the other takes the rest).
   * @param {Runtime} rt
   * @returns {Promise<{ gone: ClusterConfig | null, listed: string[] }>}
   */
  const peering = async (rt) => {
    const [ra, rb] = await Promise.all([ciliumRelease(rt, a), ciliumRelease(rt, b)]);
    if (!ra || !rb) return { gone: !ra ? a : b, listed: [] };
    return {
      gone: null,
      listed: [
        ...(meshPeers(ra.values).includes(b.name) ? [`${a.context} lists ${b.name}`] : []),
        ...(meshPeers(rb.values).includes(a.name) ? [`${b.context} lists ${a.name}`] : []),
      ],
    };
  };
  return {
    title: `Disconnect ${a.context} and ${b.context}`,
    async check(rt) {
      const { gone, listed } = await peering(rt);
      if (gone) return { state: 'done', detail: `no Cilium on ${gone.context}: nothing to disconnect` };
      if (!listed.length) return { state: 'done', detail: 'not connected' };
      return { state: 'todo', detail: listed.join(', ') };
    },
    commands: [withOpts(cilium(a, 'clustermesh disconnect', '--destination-context', b.context), { deadline: helmDeadline(config) })],
    async verifyRun(rt) {
      const { listed } = await peering(rt);
      if (listed.length) throw new Error(`after the disconnect: ${listed.join(', ')}`);
    },
  };
}

/**
 * Step 06 undone: `cilium clustermesh disable` (a Helm upgrade that removes the
 * clustermesh-apiserver, its Service and the mesh configuration), then the
 * certificate Secrets its certgen job left.
 * @param {Config} config
 * @param {ClusterConfig} c
 * @returns {Action}
 */
export function disableMesh(config, c) {
  const disable = withOpts(cilium(c, 'clustermesh disable'), { deadline: helmDeadline(config) });
  const certs = kubectl(c, 'delete', 'secret', '-n', 'kube-system', ...MESH_CERTS, '--ignore-not-found');
  const gone = withOpts(kubectl(c, 'wait', '-n', 'kube-system', '--for=delete', `deployment/${APISERVER}`, `service/${APISERVER}`,
    `--timeout=${duration(config.timeouts.resources)}`), { wait: { what: `${APISERVER} on ${c.context} to be gone`, timeout: config.timeouts.resources } });
  return {
    title: `Disable ClusterMesh on ${c.context} (${APISERVER}, its Service and certificates)`,
    cluster: c,
    async check(rt) {
      const names = (await existing(rt, c, 'kube-system', [...MESH_OBJECTS, ...MESH_CERTS.map((n) => `secret/${n}`)])) ?? [];
      if (!names.length) return { state: 'done', detail: 'not enabled' };
      const enabled = names.some((n) => MESH_OBJECTS.includes(short(n)));
      const certs = names.filter((n) => !MESH_OBJECTS.includes(short(n))).length;
      return {
        state: 'todo',
        detail: [...(enabled ? ['enabled'] : []), ...(certs ? [`${certs} certificate Secret${certs > 1 ? 's' : ''} of certgen`] : [])].join('; '),
        data: { enabled },
      };
    },
    async run(rt, check) {
      if (check.state === 'todo' && check.data.enabled) await rt.exec(disable);
      await rt.exec(certs);
    },
    verify: [gone],
    transcript: [bashOf(disable), bashOf(certs), bashOf(gone)],
  };
}

/**
 * Steps 05 and 04 undone: the app pool, the ClusterMesh pool and the L2
 * announcement policy (nothing to do where Cilium's pool kinds are not served).
 * @param {Config} config
 * @param {ClusterConfig} c
 * @returns {Action}
 */
export function deletePools(config, c) {
  const refs = [`${POOL_RESOURCE}/${APP_POOL}`, `${POOL_RESOURCE}/${MESH_POOL}`, `${L2_RESOURCE}/${L2_POLICY}`];
  return {
    title: `Delete IP pools ${APP_POOL}, ${MESH_POOL} and L2 policy ${L2_POLICY} on ${c.context}`,
    cluster: c,
    async check(rt) {
      const names = await existing(rt, c, null, refs);
      if (!names) return { state: 'done', detail: "Cilium's pool kinds are not served: nothing to delete" };
      if (!names.length) return { state: 'done', detail: 'not there' };
      return { state: 'todo', detail: `found ${names.map(short).join(', ')}` };
    },
    commands: [kubectl(c, 'delete', ...refs, '--ignore-not-found')],
  };
}

/** Seconds `cilium uninstall --wait` itself gives the Helm upgrade that disables Hubble first (the CLI's defaults.UninstallTimeout). */
const HUBBLE_DISABLE_WAIT = 300;
/** Cilium's workloads, gone once an uninstall has finished. */
const CILIUM_WORKLOADS = ['daemonset/cilium', 'deployment/cilium-operator', 'deployment/hubble-relay', 'deployment/hubble-ui'];

/**
 * Steps 01 and 03 undone: `cilium uninstall` wherever a Helm release `cilium`
 * is recorded (in any state: a failed or interrupted one too). With --wait the
 * CLI first disables Hubble with a Helm upgrade and then waits, with no
 * deadline, for the hubble-relay pods to go: when that upgrade cannot run (the
 * newest revision is pending, left by a killed install or upgrade, or failed
 * with none deployed) they never go. So --wait only over a deployed release;
 * otherwise the CLI uninstalls without waiting and kubectl waits, bounded, for
 * Cilium's workloads to be gone. A revision still pending is first given until
 * TIMEOUT_CILIUM after it began to finish (a killed run's cilium may be at it).
 * @param {Config} config
 * @param {ClusterConfig} c
 * @returns {Action}
 */
export function uninstallCilium(config, c) {
  const t = config.timeouts.cilium;
  const waiting = withOpts(cilium(c, 'uninstall', '--wait', '--timeout', duration(t)), {
    wait: { what: `Cilium on ${c.context} to be uninstalled`, timeout: t },
    deadline: { seconds: HUBBLE_DISABLE_WAIT + t, why: `cilium's own ${HUBBLE_DISABLE_WAIT}s to disable Hubble and --timeout ${t}s to uninstall` },
  });
  const plain = cilium(c, 'uninstall', '--timeout', duration(t));
  const gone = withOpts(kubectl(c, 'wait', '-n', 'kube-system', '--for=delete', ...CILIUM_WORKLOADS, `--timeout=${duration(t)}`),
    { wait: { what: `Cilium's workloads on ${c.context} to be gone`, timeout: t } });
  return {
    title: `Uninstall Cilium from ${c.context} (Helm release cilium)`,
    cluster: c,
    async check(rt) {
      const history = await ciliumReleases(rt, c);
      if (!history.length) return { state: 'done', detail: 'no Cilium Helm release' };
      const newest = history[0].status === 'deployed' ? '' : `, the newest ${history[0].status}`;
      return { state: 'todo', detail: `${history.length} Helm revision${history.length > 1 ? 's' : ''} recorded${newest}` };
    },
    async run(rt) {
      const newest = (await settled(rt, config, c, await ciliumReleases(rt, c)))[0];
      if (!newest) return 'gone meanwhile';
      if (newest.status === 'deployed') {
        await rt.exec(waiting);
        return undefined;
      }
      out.warn(`  Helm release cilium on ${c.context} is ${newest.status} (revision ${newest.revision}): cilium could not disable Hubble ` +
        'first and `uninstall --wait` would wait for hubble-relay with no deadline; uninstalling without --wait, then waiting for the workloads');
      await rt.exec(plain);
      await rt.exec(gone);
      return `uninstalled the ${newest.status} release without disabling Hubble first`;
    },
    commands: [waiting],
    transcript: [bashOf(waiting)],
  };
}

/**
 * Step 02 undone: B's copy of A's CA, when uninstalling Cilium did not take it
 * (the chart owns cilium-ca only when it renders it).
 * @param {Config} config
 * @returns {Action}
 */
export function deleteCopiedCa(config) {
  const { a, b } = config;
  return {
    title: `Delete the CA copied from ${a.context}: Secret kube-system/cilium-ca on ${b.context}`,
    cluster: b,
    async check(rt) {
      const names = await existing(rt, b, 'kube-system', ['secret/cilium-ca']);
      return names?.length ? { state: 'todo' } : { state: 'done', detail: 'not there' };
    },
    commands: [kubectl(b, 'delete', 'secret', '-n', 'kube-system', 'cilium-ca', '--ignore-not-found')],
  };
}

/**
 * The teardown, steps 09 → 01 undone. (09 leaves only a record on B's echo
 * Deployment, which goes with the namespace.)
 * @param {Config} config
 * @returns {Action[]}
 */
export function teardownActions(config) {
  return [
    ...config.clusters.map((c) => deleteEcho(config, c)),
    disconnectMesh(config),
    ...config.clusters.map((c) => disableMesh(config, c)),
    ...config.clusters.map((c) => deletePools(config, c)),
    uninstallCilium(config, config.b),
    deleteCopiedCa(config),
    uninstallCilium(config, config.a),
  ];
}
