// @ts-check
// Step 00 writes the merged kubeconfig (client keys) to `<file>.tmp-<pid>` and
// renames it over the file. A run killed between the two leaves that copy beside
// the kubeconfig: the next step 00 removes the copies of runs that are gone, and
// leaves alone the one of a run still going.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { e2eTwin } from '../support/e2e.mjs';
import { tempDir } from '../support/config-fixture.mjs';

test('a kubeconfig copy left by a killed step 00 is removed by the next one; a live run\'s is kept', async (t) => {
  const h = await e2eTwin(t);
  const home = tempDir('kubeconfig-leftover-');
  const target = path.join(home, '.kube', 'config');
  fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
  // The pid of a process that has ended: what a SIGKILLed run leaves in the name.
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  const stale = `${target}.tmp-${gone}`;
  fs.writeFileSync(stale, 'users:\n- name: x\n  user:\n    client-key-data: c2VjcmV0\n', { mode: 0o600 });
  const live = `${target}.tmp-${process.pid}`;
  fs.writeFileSync(live, 'in progress\n', { mode: 0o600 });
  const envFile = path.join(home, 'runbook.env');
  fs.writeFileSync(envFile, '');
  const env = {
    ...h.env, HOME: home, RUNBOOK_ENV: envFile, KUBECONFIG: target, NO_COLOR: '1',
    CLUSTER_A_K3S_KUBECONFIG: h.twin.clusters.a.k3sKubeconfig, CLUSTER_B_K3S_KUBECONFIG: h.twin.clusters.b.k3sKubeconfig,
    CLUSTER_A_API_HOST: '192.168.254.10', CLUSTER_B_API_HOST: '192.168.254.11',
  };
  const run = await h.run('00-kubeconfig.mjs', [], { env });
  t.is(run.code, 0, run.output);
  t.false(fs.existsSync(stale), `the copy of a run that is gone (pid ${gone}) is removed`);
  t.true(fs.existsSync(live), 'the copy of a run still going is kept');
  t.regex(fs.readFileSync(target, 'utf8'), /name: cluster-a/);
  fs.rmSync(live);
  t.deepEqual(fs.readdirSync(path.dirname(target)).filter((n) => n.includes('.tmp-')), []);
});
