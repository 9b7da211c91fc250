// @ts-check
// cilium-operator-generic for one cluster, on the host: it talks to the
// cluster's apiserver through --k8s-kubeconfig-path, registers Cilium's CRDs
// and runs LB-IPAM. Its settings come as the chart gives them, cilium-config's
// keys one file each in --config-dir. Every listener it has is put on loopback (its API and
// metrics addresses) or turned off (gops), so two operators never collide.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, startProcess, waitReady } from './procs.mjs';

/**
 * @param {{ bin: string, dir: string, kubeconfig: string, host: string, config: Record<string, string>, readyMs: number }} o
 *   config: cilium-config's data ("cluster-name", "ipam", "cluster-pool-ipv4-cidr", ...)
 */
export async function startOperator(o) {
  const work = join(o.dir, 'cilium-operator');
  await mkdir(work, { recursive: true, mode: 0o700 });
  const configDir = join(work, 'config-map');
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  await Promise.all(Object.entries(o.config).map(([key, value]) => writeFile(join(configDir, key), value)));
  const [api, metrics] = [await freePort(o.host), await freePort(o.host)];
  const proc = startProcess('cilium-operator-generic', o.bin, [
    `--k8s-kubeconfig-path=${o.kubeconfig}`,
    `--config-dir=${configDir}`,
    `--operator-api-serve-addr=${o.host}:${api}`, `--operator-prometheus-serve-addr=${o.host}:${metrics}`,
    '--enable-metrics=false', '--enable-gops=false',
  ], join(o.dir, 'cilium-operator.log'), { ...process.env, HOME: work });
  await waitReady(proc, async () => (await fetch(`http://${o.host}:${api}/healthz`, { signal: AbortSignal.timeout(2000) })).ok, o.readyMs);
  return proc;
}
