// @ts-check
// Installing Cilium on one cluster: the checks of steps 01 (A) and 03 (B), and
// the install action both build from the commands they declare.
// Done means: the Helm release `cilium` is deployed with the values this runbook
// sets. A release with other values is reported with what differs and never
// "upgraded to converge": depending on the CLI's value flags an upgrade with new
// values resets the ones `clustermesh connect` wrote and the mesh disconnects
// (cilium/cilium#35975; CLIs since v0.16.22 reuse them by default, older ones
// and --reset-values do not), and a new chart may change much more.
// A release still pending (an install or upgrade under way, e.g. by the cilium
// of a run that was killed, which lives on) is waited for before anything is
// decided: installing over it fails in Helm ("cannot reuse a name").
import { expBackoff } from 'zx';
import { tryReadKubeconfig } from './kubeconfig-read.mjs';
import { ciliumReleases, valueDiff, getObjects, deploymentReady, daemonSetReady } from './probes.mjs';
import { sameCa } from './share-ca.mjs';
import { bashOf } from './bash-text.mjs';
import { code } from './plan.mjs';
import { ToolError, sleep } from './runtime.mjs';
import { out } from './output.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./actions.js').Action} Action */
/** @typedef {import('./actions.js').Command} Command */
/** @typedef {import('./actions.js').CheckResult} CheckResult */
/** @typedef {import('./actions.js').Code} Code */
/** @typedef {import('./manifests.mjs').Manifest} Manifest */
/** @typedef {import('./runtime.mjs').Runtime} Runtime */
/** @typedef {import('./probes.mjs').HelmRelease} HelmRelease */

/** Cilium's agents and operator: when both are ready, an installed Cilium needs no `cilium status --wait`. */
const WORKLOADS = ['ds/cilium', 'deploy/cilium-operator'];
const PENDING = /^pending-/;
/** Helm's answer to an install over an existing release (v3: "re-use", v4: "reuse"). */
const NAME_IN_USE = /cannot re-?use a name that is still in use/;

/**
 * The preflight's check: done when each command answers (they are the ones its
 * transcript prints); the detail names the versions that `kubectl version -o json`
 * and `cilium version --client` print. With the K3s kubeconfigs set, blocked
 * until step 00 has merged them (read from the file alone, before any tool runs).
 * @param {Runtime} rt
 * @param {Config} config
 * @param {ClusterConfig} c
 * @param {{ kubectl: Command, cilium: Command, nodes: Command }} cmds `kubectl version -o json`, `cilium version --client`, `kubectl get nodes`
 * @returns {Promise<CheckResult>}
 */
export async function toolsAnswer(rt, config, c, cmds) {
  if (config.k3s) {
    const kube = tryReadKubeconfig(config.kubeconfig);
    if ('error' in kube || !config.clusters.every((x) => kube.contexts.has(x.context))) {
      return { state: 'blocked', message: `the contexts ${config.a.context} and ${config.b.context} are not in KUBECONFIG (${config.kubeconfig}) yet: run step 00 (npm run 00) first, which merges the K3s kubeconfigs.` };
    }
  }
  const [k, { stdout }] = await Promise.all([rt.probeJson(cmds.kubectl), rt.probe(cmds.cilium), rt.probe(cmds.nodes)]);
  const cli = /cilium-cli:\s*(\S+)/.exec(stdout)?.[1] ?? stdout.trim().split('\n')[0];
  return {
    state: 'done',
    detail: `kubectl ${k.clientVersion?.gitVersion}, cilium-cli ${cli}, ${c.context} runs ${k.serverVersion?.gitVersion}`,
  };
}

/**
 * The install of steps 01 and 03, from the commands the step declares: check
 * ciliumInstalled, run the install (adopting one a killed run's cilium finished
 * meanwhile), then the wait.
 * @param {Config} config
 * @param {ClusterConfig} c
 * @param {{ values: Manifest, install: Command, verify: Command }} cmds values: the file `install` reads
 * @param {{ requireCaFrom?: ClusterConfig }} [opts] refuse to install while c lacks this cluster's cilium-ca
 * @returns {Action}
 */
export function installAction(config, c, { values, install, verify }, opts = {}) {
  return {
    title: `Install Cilium ${config.ciliumVersion} on ${c.context} (cluster.name=${c.name}, cluster.id=${c.id})`,
    check: (rt) => ciliumInstalled(rt, config, c, values, opts),
    run: [installing(config, c, values, install)],
    verify: [verify],
  };
}

/**
 * The install check: done when Helm release `cilium` is deployed with exactly
 * these values and chart version and its agents and operator are ready; 'verify'
 * when they are not ready yet (or a pending revision was waited out); 'todo'
 * when there is no release. Blocked, with what to do: a release with other
 * values, one pending longer than TIMEOUT_CILIUM, one with no deployed revision,
 * and (requireCaFrom) a cluster without that cluster's Cilium CA.
 * @param {Runtime} rt
 * @param {Config} config
 * @param {ClusterConfig} c
 * @param {Manifest} values the values file the install reads
 * @param {{ requireCaFrom?: ClusterConfig }} opts
 * @returns {Promise<CheckResult>}
 */
export async function ciliumInstalled(rt, config, c, values, opts) {
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
  const diff = differences(config, values, release);
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
}

/**
 * What differs between the wanted values and chart and a release's.
 * @param {Config} config @param {Manifest} values @param {HelmRelease} release
 */
function differences(config, values, release) {
  const diff = valueDiff(values.objects[0], release.values);
  if (release.chartVersion.replace(/^v/, '') !== config.ciliumVersion) {
    diff.unshift(`chart version: wanted ${config.ciliumVersion}, found ${release.chartVersion}`);
  }
  return diff;
}

/**
 * Runs the install. Should an install have begun since the check (a killed
 * run's cilium, living on), Helm refuses this one: then it lets that one finish
 * and accepts what it installed when the values are these. Its bash is the command's.
 * @param {Config} config @param {ClusterConfig} c @param {Manifest} values @param {Command} install
 * @returns {Code}
 */
function installing(config, c, values, install) {
  return code([bashOf(install)], async (rt) => {
    try {
      await rt.exec(install);
    } catch (err) {
      if (!(err instanceof ToolError && NAME_IN_USE.test(err.stderr))) throw err;
      const history = await settled(rt, config, c, await ciliumReleases(rt, c));
      const release = history[0]?.status === 'deployed' ? history[0] : undefined;
      if (!release || differences(config, values, release).length) throw err;
      return `installed meanwhile by an earlier run's cilium install (Helm release cilium revision ${release.revision})`;
    }
  });
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
  // A wait: its polls read afresh (rt.changing), never a check's shared first answer.
  return rt.changing(() => rt.withWait(`Helm release cilium on ${c.context} to leave ${first.status}`, Math.ceil((deadline - Date.now()) / 1000), async () => {
    for (const delay of expBackoff(2000, 250)) {
      await sleep(delay, rt.signal);
      const now = await ciliumReleases(rt, c);
      if (!PENDING.test(now[0]?.status ?? '') || Date.now() >= deadline) return now;
    }
    throw new Error('unreachable: expBackoff never ends');
  }));
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
