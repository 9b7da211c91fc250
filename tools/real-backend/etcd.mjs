// @ts-check
// One etcd member for one cluster: on loopback, plain HTTP (nothing but the
// cluster's own apiserver talks to it), its data in the cluster's folder.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, startProcess, waitReady } from './procs.mjs';

/**
 * @param {{ bin: string, dir: string, host: string, readyMs: number }} o
 * @returns {Promise<{ proc: import('./procs.mjs').Proc, url: string }>}
 */
export async function startEtcd(o) {
  const data = join(o.dir, 'etcd');
  await mkdir(data, { recursive: true, mode: 0o700 });
  const [client, peer] = [await freePort(o.host), await freePort(o.host)];
  const url = `http://${o.host}:${client}`;
  const peerUrl = `http://${o.host}:${peer}`;
  const proc = startProcess('etcd', o.bin, [
    '--name=default', `--data-dir=${data}`,
    `--listen-client-urls=${url}`, `--advertise-client-urls=${url}`,
    `--listen-peer-urls=${peerUrl}`, `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=default=${peerUrl}`, '--initial-cluster-state=new',
    '--log-level=warn', '--quota-backend-bytes=1073741824',
  ], join(o.dir, 'etcd.log'));
  await waitReady(proc, async () => {
    const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    return r.ok && (await r.json()).health === 'true';
  }, o.readyMs);
  return { proc, url };
}
