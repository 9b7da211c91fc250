// @ts-check
// cilium-operator-generic for one cluster, on the host: it talks to the
// cluster's apiserver through --k8s-kubeconfig-path, registers Cilium's CRDs
// and runs LB-IPAM. Every listener it has is put on loopback (its API and
// metrics addresses) or turned off (gops), so two operators never collide.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, startProcess, waitReady } from './procs.mjs';

/**
 * @param {{ bin: string, dir: string, kubeconfig: string, host: string, clusterName?: string, clusterId?: number,
 *   configDir?: string, readyMs: number }} o configDir: a folder of cilium-config's keys, one file each
 */
export async function startOperator(o) {
  const work = join(o.dir, 'cilium-operator');
  await mkdir(work, { recursive: true, mode: 0o700 });
  const [api, metrics] = [await freePort(o.host), await freePort(o.host)];
  const proc = startProcess('cilium-operator-generic', o.bin, [
    `--k8s-kubeconfig-path=${o.kubeconfig}`,
    ...(o.configDir ? [`--config-dir=${o.configDir}`] : []),
    `--cluster-name=${o.clusterName ?? 'default'}`, `--cluster-id=${o.clusterId ?? 0}`,
    `--operator-api-serve-addr=${o.host}:${api}`, `--operator-prometheus-serve-addr=${o.host}:${metrics}`,
    '--enable-metrics=false', '--enable-gops=false', '--identity-allocation-mode=crd',
  ], join(o.dir, 'cilium-operator.log'), { ...process.env, HOME: work });
  await waitReady(proc, async () => (await fetch(`http://${o.host}:${api}/healthz`, { signal: AbortSignal.timeout(2000) })).ok, o.readyMs);
  return proc;
}
