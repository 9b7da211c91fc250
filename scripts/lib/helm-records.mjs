// @ts-check
// The Cilium Helm release's records after a Helm command of ours: revisions it
// began and left pending or failed would make Helm refuse the next attempt
// ("another operation is in progress", "cannot reuse a name"). They are ours —
// begun since the command started, by a command that has exited, under the
// run's lock — so the runtime may drop their records and run it again; what
// they created stays for the next attempt to take over, as Helm does.
import { kubectl } from './commands.mjs';
import { ciliumReleases } from './probes.mjs';

/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./runtime.mjs').Runtime} Runtime */

/**
 * After a Helm command exited 0 (Helm v4 logs and ignores a failed final record
 * update): the revisions it began that are still pending. Dropping one and
 * running the command again is safe while the release keeps a deployed
 * revision, or when it is a first install.
 * @param {Runtime} rt @param {ClusterConfig[]} clusters @param {number} since ms
 * @returns {Promise<Array<{ what: string, retryable: boolean, fix: string }>>}
 */
export async function unfinishedRevisions(rt, clusters, since) {
  const left = [];
  for (const c of clusters) {
    const history = await ciliumReleases(rt, c);
    const deployed = history.some((r) => r.status === 'deployed');
    for (const r of history) {
      if (!(Date.parse(r.since) >= since) || !/^pending-/.test(r.status)) continue;
      left.push({
        what: `Helm release cilium on ${c.context} was left ${r.status} (revision ${r.revision})`,
        retryable: deployed || r.status === 'pending-install',
        fix: `on ${c.context}: \`helm rollback cilium -n kube-system\` to the last good revision`,
      });
    }
  }
  return left;
}

/**
 * After a Helm command failed, or exited 0 leaving its revision pending: drops
 * the records of the revisions it began and left pending, and of a first
 * install it left failed.
 * @param {Runtime} rt @param {ClusterConfig[]} clusters @param {number} since ms
 */
export async function dropUnfinished(rt, clusters, since) {
  for (const c of clusters) {
    const history = await ciliumReleases(rt, c);
    const deployed = history.some((r) => r.status === 'deployed');
    for (const r of history) {
      if (!(Date.parse(r.since) >= since) || !(/^pending-/.test(r.status) || (r.status === 'failed' && !deployed))) continue;
      await rt.exec(kubectl`--context ${c.context} delete secret -n kube-system ${r.secret} --ignore-not-found`);
    }
  }
}
