// @ts-check
// Step 10 over a Helm release left pending (an install or upgrade killed
// half-way). `cilium uninstall --wait` first disables Hubble with a Helm upgrade,
// which Helm refuses over a pending revision, and then waits for the
// hubble-relay pods to go with no deadline (cli/install.go; the stand-in does
// the same): they never go. The teardown must end anyway, and leave nothing.
import { gzipSync, gunzipSync } from 'node:zlib';
import { e2eTwin } from '../support/e2e.mjs';
import { testWithEachCli } from '../support/cilium-cli.mjs';
import { ciliumCalls, ciliumLogFile } from '../support/e2e-checks.mjs';
import { helmStatuses } from '../support/end-state.mjs';

/** @typedef {import('../support/e2e.mjs').E2E} E2E */

/**
 * A newer revision of cluster k's deployed Cilium release, pending-upgrade
 * since an hour ago: what a cilium upgrade killed between its two writes leaves.
 * @param {E2E} h @param {'a' | 'b'} k
 */
function leavePendingUpgrade(h, k) {
  const store = h.store(k);
  const deployed = store.list('/secrets', 'kube-system')
    .find((s) => s.metadata.labels?.owner === 'helm' && s.metadata.labels?.name === 'cilium' && s.metadata.labels?.status === 'deployed');
  if (!deployed) throw new Error(`no deployed Cilium release on ${k}`);
  let raw = Buffer.from(Buffer.from(deployed.data.release, 'base64').toString('utf8'), 'base64');
  if (raw[0] === 0x1f) raw = gunzipSync(raw);
  const rel = JSON.parse(raw.toString('utf8'));
  const version = rel.version + 1;
  const since = new Date(Date.now() - 3600_000).toISOString();
  const pending = { ...rel, version, info: { ...rel.info, status: 'pending-upgrade', description: 'Preparing upgrade', last_deployed: since } };
  const helmText = gzipSync(JSON.stringify(pending)).toString('base64');
  store.create('/secrets', {
    apiVersion: 'v1', kind: 'Secret', type: 'helm.sh/release.v1',
    metadata: { name: `sh.helm.release.v1.cilium.v${version}`, namespace: 'kube-system',
      labels: { ...deployed.metadata.labels, status: 'pending-upgrade', version: String(version) } },
    data: { release: Buffer.from(helmText).toString('base64') },
  });
}

testWithEachCli('teardown over a pending Helm release ends: no `uninstall --wait` that waits for hubble-relay forever, and nothing is left', async (t, cli) => {
  const h = await e2eTwin(t, { cilium: cli.bin });
  const install = await h.run('01-install-a.mjs');
  t.is(install.code, 0, install.output);
  t.true(h.store('a').list('/pods', 'kube-system').some((p) => p.metadata.labels?.['k8s-app'] === 'hubble-relay'), 'hubble-relay runs');
  leavePendingUpgrade(h, 'a');
  t.deepEqual(helmStatuses(h, 'a').map((r) => r.status), ['deployed', 'pending-upgrade']);

  const log = ciliumLogFile(h, 'teardown-pending');
  // Today's teardown never ends here: the guard kills it long after the twin's uninstall takes.
  const down = await h.run('10-teardown.mjs', ['--yes'], { env: { TWIN_CILIUM_LOG: log }, timeoutMs: 60_000 });
  t.is(down.code, 0, down.output);
  t.regex(down.output, /Helm release cilium on cluster-a is pending-upgrade \(revision 2\): cilium could not disable Hubble first/);
  const uninstalls = ciliumCalls(log).filter((c) => c.argv[0] === 'uninstall').map((c) => c.argv);
  t.is(uninstalls.length, 1, JSON.stringify(uninstalls));
  t.false(uninstalls[0].includes('--wait'), 'no --wait over a pending release');
  t.deepEqual(helmStatuses(h, 'a'), [], 'the release is gone');
  const left = [...h.store('a').list('apps/daemonsets', 'kube-system'), ...h.store('a').list('apps/deployments', 'kube-system'),
    ...h.store('a').list('/pods', 'kube-system').filter((p) => /^(cilium|hubble)/.test(String(p.metadata.labels?.['k8s-app'])))]
    .map((o) => `${o.kind}/${o.metadata.name}`).filter((n) => /cilium|hubble/.test(n));
  t.deepEqual(left, [], 'Cilium\'s workloads are gone');

  const again = await h.run('10-teardown.mjs', ['--yes']);
  t.is(again.code, 0, again.output);
  t.notRegex(again.output, /✚ changed/, 'a second teardown changes nothing');
});
