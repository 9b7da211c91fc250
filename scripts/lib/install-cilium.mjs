// @ts-check
// Installing Cilium on one cluster, shared by steps 01 (A) and 03 (B).
// Done means: the Helm release `cilium` is deployed with the values this runbook
// sets. A release with other values is reported with what differs and never
// "upgraded to converge": depending on the CLI's value flags an upgrade with new
// values resets the ones `clustermesh connect` wrote and the mesh disconnects
// (cilium/cilium#35975; CLIs since v0.16.22 reuse them by default, older ones
// and --reset-values do not), and a new chart may change much more.
// A release still pending (an install or upgrade under way, e.g. by the cilium
// of a run that was killed, which lives on) is waited for before anything is
// decided: installing over it fails in Helm ("cannot reuse a name").
import { cilium, kubectl, duration, withOpts } from './commands.mjs';
import { ciliumValues } from './manifests.mjs';
import { tryReadKubeconfig } from './kubeconfig-read.mjs';
import { ciliumReleases, valueDiff, getObjects, deploymentReady, daemonSetReady } from './probes.mjs';

/** Cilium's agents and operator: when both are ready, an installed Cilium needs no `cilium status --wait`. */
const WORKLOADS = ['ds/cilium', 'deploy/cilium-operator'];
import { sameCa } from './share-ca.mjs';
import { bashOf } from './shell.mjs';
import { expBackoff } from 'zx';
import { ToolError, sleep } from './runtime.mjs';
import { out } from './output.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./actions.js').Action} Action */
/** @typedef {import('./runtime.mjs').Runtime} Runtime */
/** @typedef {import('./probes.mjs').HelmRelease} HelmRelease */

const PENDING = /^pending-/;
/** Helm's answer to an install over an existing release (v3: "re-use", v4: "reuse"). */
const NAME_IN_USE = /cannot re-?use a name that is still in use/;

/**
 * Every form of `cilium version` (--client too) also fetches the latest stable
 * version from GitHub with no timeout: slow or stuck in an offline lab. Through a
 * proxy at port 0 of loopback, which no one can listen on, the fetch fails at once
 * and the CLI prints "cilium image (stable): unknown"; the rest is local.
 */
const OFFLINE = { HTTPS_PROXY: 'http://127.0.0.1:0' };

/**
 * Tool versions and the cluster's API server: the first thing a workshop checks.
 * @param {Config} config
 * @param {ClusterConfig} c
 * @returns {Action}
 */
export function preflight(config, c) {
  const kver = kubectl(c, 'version', '-o', 'json');
  const cver = { tool: /** @type {const} */ ('cilium'), args: ['version', '--client'], env: OFFLINE };
  return {
    title: `kubectl and cilium are installed and ${c.context} answers`,
    cluster: c,
    async check(rt) {
      if (config.k3s) {
        // The K3s kubeconfigs are set: the contexts exist once step 00 has merged them.
        const kube = tryReadKubeconfig(config.kubeconfig);
        if ('error' in kube || !config.clusters.every((x) => kube.contexts.has(x.context))) {
          return { state: 'blocked', message: `the contexts ${config.a.context} and ${config.b.context} are not in KUBECONFIG (${config.kubeconfig}) yet: run step 00 (npm run 00) first, which merges the K3s kubeconfigs.` };
        }
      }
      const [k, { stdout }] = await Promise.all([rt.probeJson(kver), rt.probe(cver)]);
      const cli = /cilium-cli:\s*(\S+)/.exec(stdout)?.[1] ?? stdout.trim().split('\n')[0];
      return {
        state: 'done',
        detail: `kubectl ${k.clientVersion?.gitVersion}, cilium-cli ${cli}, ${c.context} runs ${k.serverVersion?.gitVersion}`,
      };
    },
    transcript: ['kubectl version --client', bashOf(cver), bashOf(kubectl(c, 'get', 'nodes', '-o', 'wide'))],
  };
}

/**
 * @param {Config} config
 * @param {ClusterConfig} c
 * @param {{ requireCaFrom?: ClusterConfig }} [opts] refuse to install while c lacks this cluster's cilium-ca
 * @returns {Action}
 */
export function installCilium(config, c, opts = {}) {
  const values = ciliumValues(config, c);
  const wanted = values.objects[0];
  const install = withOpts(cilium(c, 'install', '--version', config.ciliumVersion, '--values', values.name), { files: [values], helm: [c] });
  /** What differs between the wanted values and chart and a release's. @param {HelmRelease} release */
  const differences = (release) => {
    const diff = valueDiff(wanted, release.values);
    if (release.chartVersion.replace(/^v/, '') !== config.ciliumVersion) {
      diff.unshift(`chart version: wanted ${config.ciliumVersion}, found ${release.chartVersion}`);
    }
    return diff;
  };
  return {
    title: `Install Cilium ${config.ciliumVersion} on ${c.context} (cluster.name=${c.name}, cluster.id=${c.id})`,
    cluster: c,
    async check(rt) {
      const [releases, workloads] = await Promise.all([ciliumReleases(rt, c), getObjects(rt, c, 'kube-system', WORKLOADS)]);
      const history = await settled(rt, config, c, releases);
      const latest = history[0];
      if (latest && PENDING.test(latest.status)) return { state: 'blocked', message: stuck(config, c, latest) };
      const release = history.find((r) => r.status === 'deployed');
      if (!release && latest) {
        return {
          state: 'blocked',
          message: `Helm release cilium on ${c.context} is ${latest.status} (revision ${latest.revision}${latest.description ? `: ${latest.description}` : ''}) ` +
            `and no revision is deployed. Nothing was changed. Remove it with \`cilium uninstall --context ${c.context}\` and run this step again` +
            (opts.requireCaFrom ? ` (uninstalling also removes the CA copied from ${opts.requireCaFrom.context}: run step 02 before this one).` : '.'),
        };
      }
      if (!release) {
        if (opts.requireCaFrom) {
          const verdict = await sameCa(rt, opts.requireCaFrom, c);
          if (verdict !== 'same') {
            return {
              state: 'blocked',
              message: `${c.context} does not have ${opts.requireCaFrom.context}'s Cilium CA (${verdict}). ` +
                'Installing now would make a new CA and the clusters could not be meshed: run step 02 (npm run 02) first.',
            };
          }
        }
        return { state: 'todo', detail: 'no Cilium Helm release yet' };
      }
      const diff = differences(release);
      if (diff.length) {
        return {
          state: 'blocked',
          message: `Cilium is already installed on ${c.context} (Helm release cilium, revision ${release.revision}) with other values:\n` +
            diff.map((d) => `    ${d}`).join('\n') +
            `\n  Nothing was changed. Either make the env file match what is installed, or remove it with ` +
            `\`cilium uninstall --context ${c.context}\` and run this step again. (The runbook does not upgrade in place: ` +
            'depending on its flags, `cilium upgrade` with new values resets the ClusterMesh configuration.)',
        };
      }
      const detail = `Helm release cilium revision ${release.revision}, chart ${release.chartVersion}`;
      // Ready agents and operator: done. Otherwise `cilium status --wait` waits for them.
      const ready = daemonSetReady(workloads.get('daemonset/cilium')) && deploymentReady(workloads.get('deployment/cilium-operator'));
      return { state: ready && history === releases ? 'done' : 'verify', detail };
    },
    async run(rt) {
      try {
        await rt.exec(install);
      } catch (err) {
        // An install began since the check (a killed run's cilium, living on): let it finish and judge what it installed.
        if (!(err instanceof ToolError && NAME_IN_USE.test(err.stderr))) throw err;
        const history = await settled(rt, config, c, await ciliumReleases(rt, c));
        const release = history[0]?.status === 'deployed' ? history[0] : undefined;
        if (!release || differences(release).length) throw err;
        return `installed meanwhile by an earlier run's cilium install (Helm release cilium revision ${release.revision})`;
      }
    },
    commands: [install],
    verify: [
      withOpts(cilium(c, 'status', '--wait', '--wait-duration', duration(config.timeouts.cilium), '--interactive=false'),
        { wait: { what: `Cilium on ${c.context} to be ready`, timeout: config.timeouts.cilium }, read: true }),
    ],
  };
}

/**
 * While the newest revision of the Cilium release is pending (an install or
 * upgrade under way), waits for it to finish, at most until TIMEOUT_CILIUM after
 * it began: one pending longer was interrupted and nothing finishes it.
 * @param {Runtime} rt @param {Config} config @param {ClusterConfig} c
 * @param {HelmRelease[]} history newest first
 * @returns {Promise<HelmRelease[]>} the history when nothing is pending any more, or at the deadline
 */
export async function settled(rt, config, c, history) {
  const first = history[0];
  if (!first || !PENDING.test(first.status)) return history;
  const began = Date.parse(first.since);
  const deadline = (Number.isNaN(began) ? Date.now() : Math.min(began, Date.now())) + config.timeouts.cilium * 1000;
  if (Date.now() >= deadline) return history;
  out.warn(`  Helm release cilium on ${c.context} is ${first.status} (revision ${first.revision}, since ${first.since}): ` +
    'another cilium command (maybe of a run that was killed) is working on it; waiting for it to finish');
  return rt.withWait(`Helm release cilium on ${c.context} to leave ${first.status}`, Math.ceil((deadline - Date.now()) / 1000), async () => {
    for (const delay of expBackoff(2000, 250)) {
      await sleep(delay, rt.signal);
      const now = await ciliumReleases(rt, c);
      if (!PENDING.test(now[0]?.status ?? '') || Date.now() >= deadline) return now;
    }
    throw new Error('unreachable: expBackoff never ends');
  });
}

/** @param {Config} config @param {ClusterConfig} c @param {HelmRelease} r a pending revision */
function stuck(config, c, r) {
  const install = r.status === 'pending-install';
  return `Helm release cilium on ${c.context} has been ${r.status} (revision ${r.revision}) since ${r.since}, longer than ` +
    `TIMEOUT_CILIUM (${config.timeouts.cilium}s): the ${install ? 'install' : 'upgrade'} was interrupted and nothing is finishing it. ` +
    `Nothing was changed. If no cilium command is running against ${c.context}, drop that revision's record with ` +
    `\`kubectl --context ${c.context} delete secret -n kube-system sh.helm.release.v1.cilium.v${r.revision}\` and run this step again ` +
    (install ? '(the install starts over and takes over what the interrupted one created).' : '(the revision before it is then the deployed one).');
}
