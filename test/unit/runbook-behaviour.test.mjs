// @ts-check
// Pure parts of issue 8's runbook behaviour: the mesh IPs are settings of
// MESH_SERVICE_TYPE=LoadBalancer only, a name a typo away from a known one is a
// problem whatever its prefix, step 04's manifests follow the service type, the
// echo Service's comment follows ECHO_AFFINITY, and the settings line names the
// env file (warning about an unread .env).
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { buildConfig, findUnknownVariables } from '../../scripts/lib/config.mjs';
import { articleVars, makeConfig, kubeInfo, tempDir } from '../support/config-fixture.mjs';
import { step as step04 } from '../../scripts/04-mesh-pools.mjs';
import { step as step08, echoApp } from '../../scripts/08-deploy-echo.mjs';
import { actionsOf, isCode, isLanes } from '../../scripts/lib/plan.mjs';
import { settingsLines } from '../../scripts/lib/step.mjs';

const KUBE = kubeInfo({ 'cluster-a': 'https://192.168.254.10:6443', 'cluster-b': 'https://192.168.254.11:6443' });
/** @param {Record<string, string>} o */
const build = (o) => buildConfig({ ...articleVars(), ...o }, KUBE, { envFile: null });

test('NodePort: the mesh IPs may be empty or anything, and are not used; LoadBalancer still needs them', (t) => {
  const empty = { CLUSTER_A_MESH_IP: '', CLUSTER_B_MESH_IP: '' };
  const node = build({ MESH_SERVICE_TYPE: 'NodePort', ...empty });
  t.deepEqual(node.problems, []);
  t.is(node.config?.a.meshIp, '');
  t.deepEqual(build({ MESH_SERVICE_TYPE: 'NodePort', CLUSTER_A_MESH_IP: '10.42.0.9', CLUSTER_B_MESH_IP: '10.42.0.9' }).problems, [],
    'not checked either: no pool is made from them');
  const lb = build({ MESH_SERVICE_TYPE: 'LoadBalancer', ...empty });
  t.deepEqual(lb.problems.map((p) => p.variable), ['CLUSTER_A_MESH_IP', 'CLUSTER_B_MESH_IP']);
});

test('step 04 with NodePort applies the L2 policy alone; with LoadBalancer the mesh pool too', (t) => {
  /** @param {import('../../scripts/lib/types.js').Config} config */
  const kinds = (config) => actionsOf(step04.actions(config, { flags: new Set() })).flatMap((a) => a.run ?? [])
    .flatMap((i) => (isCode(i) || !i.args.includes(config.a.context) ? [] : i.stdin?.objects ?? [])).map((o) => o.kind);
  t.deepEqual(kinds(makeConfig({ MESH_SERVICE_TYPE: 'NodePort' })), ['CiliumL2AnnouncementPolicy']);
  t.deepEqual(kinds(makeConfig()), ['CiliumLoadBalancerIPPool', 'CiliumL2AnnouncementPolicy']);
});

test('a name a typo away from a known one is a problem whatever its prefix; other names are left alone', (t) => {
  t.deepEqual(findUnknownVariables(['CLUSTR_A_NAME', 'HUBLE_ENABLED', 'PATH', 'EDITOR', 'NODE_ENV', 'RUNBOOK_ENV', 'FORCE_COLOR']), [
    { variable: 'CLUSTR_A_NAME', message: 'unknown variable CLUSTR_A_NAME, so it has no effect; did you mean CLUSTER_A_NAME?' },
    { variable: 'HUBLE_ENABLED', message: 'unknown variable HUBLE_ENABLED, so it has no effect; did you mean HUBBLE_ENABLED?' },
  ]);
});

test("step 08: both deployments before either VIP's check; the Service's comment says what its affinity does", (t) => {
  const config = makeConfig({ ECHO_AFFINITY: 'remote' });
  const plans = step08.actions(config, { flags: new Set() });
  // Two plans, each with the clusters side by side: the deployments, then the VIPs.
  t.deepEqual(plans.map((p) => (isLanes(p) ? p.lanes.map((lane) => lane.map((a) => (a.statusLabel ? 'vip' : 'deploy'))) : 'one action')),
    [[['deploy'], ['deploy']], [['vip'], ['vip']]]);
  t.regex(actionsOf(plans)[2].title, /cluster-a's echo VIP answers with "Cluster B"/);
  /** @param {string} affinity */
  const service = (affinity) => {
    const c = makeConfig({ ECHO_AFFINITY: affinity });
    return echoApp(c, c.a).yaml.split('---\n')[2];
  };
  t.regex(service('remote'), /^# affinity remote: the other cluster's pods answer; this cluster's only when none there is ready\.$/m);
  t.regex(service('local'), /^# affinity local: this cluster's pods answer/m);
  t.regex(service(''), /^# no affinity: both clusters' pods answer/m);
  for (const a of ['remote', '']) t.notRegex(service(a), /local/, `${a || 'none'}: no word of local`);
});

test('the settings line names the env file; a .env here that is not it gets a warning', (t) => {
  const dir = tempDir('runbook-settings-');
  const other = path.join(dir, 'twin.env');
  const config = { ...makeConfig(), envFile: other };
  t.deepEqual(settingsLines(config, dir, { RUNBOOK_ENV: other }), [[false, `settings: ${other} (RUNBOOK_ENV), with the environment on top`]]);
  fs.writeFileSync(path.join(dir, '.env'), '');
  t.deepEqual(settingsLines(config, dir, { RUNBOOK_ENV: other }), [
    [false, `settings: ${other} (RUNBOOK_ENV), with the environment on top`],
    [true, `warning: ${path.join(dir, '.env')} is not read: RUNBOOK_ENV names ${other}. Edit that file, or unset RUNBOOK_ENV to use .env`],
  ]);
  t.deepEqual(settingsLines({ ...config, envFile: path.join(dir, '.env') }, dir, {}), [[false, `settings: ${path.join(dir, '.env')}, with the environment on top`]]);
  t.deepEqual(settingsLines({ ...config, envFile: null }, dir, {}), [[false, 'settings: no env file (no .env here); defaults and the environment']]);
});
