// @ts-check
// Installing Cilium on one cluster, shared by steps 01 (A) and 03 (B).
// Done means: the Helm release `cilium` is deployed with the values this runbook
// sets. A release with other values is reported with what differs and never
// "upgraded to converge": `cilium upgrade --set …` resets values and would drop
// the mesh configuration that `clustermesh connect` writes (cilium/cilium#35975).
import { cilium, kubectl, duration, withOpts } from './commands.mjs';
import { ciliumValues } from './manifests.mjs';
import { ciliumRelease, valueDiff } from './probes.mjs';
import { sameCa } from './share-ca.mjs';
import { bashOf } from './shell.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./actions.js').Action} Action */

/**
 * Tool versions and the cluster's API server: the first thing a workshop checks.
 * @param {Config} config
 * @param {ClusterConfig} c
 * @returns {Action}
 */
export function preflight(config, c) {
  const kver = kubectl(c, 'version', '-o', 'json');
  const cver = { tool: /** @type {const} */ ('cilium'), args: ['version', '--client'] };
  return {
    title: `kubectl and cilium are installed and ${c.context} answers`,
    cluster: c,
    async check(rt) {
      const k = await rt.probeJson(kver);
      const { stdout } = await rt.probe(cver);
      const cli = /cilium-cli:\s*(\S+)/.exec(stdout)?.[1] ?? stdout.trim().split('\n')[0];
      return {
        state: 'done',
        detail: `kubectl ${k.clientVersion?.gitVersion}, cilium-cli ${cli}, ${c.context} runs ${k.serverVersion?.gitVersion}`,
      };
    },
    transcript: ['kubectl version --client', 'cilium version --client', bashOf(kubectl(c, 'get', 'nodes', '-o', 'wide'))],
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
  return {
    title: `Install Cilium ${config.ciliumVersion} on ${c.context} (cluster.name=${c.name}, cluster.id=${c.id})`,
    cluster: c,
    async check(rt) {
      const release = await ciliumRelease(rt, c);
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
      const diff = valueDiff(wanted, release.values);
      if (release.chartVersion.replace(/^v/, '') !== config.ciliumVersion) {
        diff.unshift(`chart version: wanted ${config.ciliumVersion}, found ${release.chartVersion}`);
      }
      if (diff.length) {
        return {
          state: 'blocked',
          message: `Cilium is already installed on ${c.context} (Helm release cilium, revision ${release.revision}) with other values:\n` +
            diff.map((d) => `    ${d}`).join('\n') +
            `\n  Nothing was changed. Either make the env file match what is installed, or remove it with ` +
            `\`cilium uninstall --context ${c.context}\` and run this step again. (The runbook does not upgrade in place: ` +
            '`cilium upgrade --set` resets values and would drop the ClusterMesh configuration.)',
        };
      }
      return { state: 'verify', detail: `Helm release cilium revision ${release.revision}, chart ${release.chartVersion}` };
    },
    commands: [
      withOpts(cilium(c, 'install', '--version', config.ciliumVersion, '--values', values.name), { files: [values] }),
    ],
    verify: [
      withOpts(cilium(c, 'status', '--wait', '--wait-duration', duration(config.timeouts.cilium), '--interactive=false'),
        { wait: { what: `Cilium on ${c.context} to be ready`, timeout: config.timeouts.cilium } }),
    ],
  };
}
