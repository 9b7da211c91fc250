// @ts-check
// One cluster of the real backend: etcd and kube-apiserver built by
// `npm run build:real`, on a loopback address, everything in one folder
// (certificates from twin/pki.mjs, K3s style), and a K3s-style kubeconfig.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { realBinary } from '../build-real.mjs';
import { createClusterPki } from '../../twin/pki.mjs';
import { k3sKubeconfig, writeKubeconfig } from '../../twin/kubeconfig.mjs';
import { startEtcd } from './etcd.mjs';
import { startApiserver } from './apiserver.mjs';

/** The binaries a cluster runs, or the ones not built yet. */
export function clusterBinaries() {
  const bins = { etcd: realBinary('etcd'), apiserver: realBinary('kube-apiserver') };
  const missing = Object.values(bins).filter((b) => !b.built).map((b) => `${b.bin} ${b.version}`);
  return { bins, missing };
}

/**
 * @typedef {object} RealCluster
 * @property {string} dir
 * @property {string} server https://127.x:port
 * @property {string} etcdUrl http://127.x:port
 * @property {string} kubeconfig path
 * @property {import('../../twin/pki.mjs').ClusterPki} pki
 * @property {import('./procs.mjs').Proc[]} procs
 * @property {() => Promise<void>} stop stops the processes; removes the folder when `removeDir`
 */

/**
 * Starts one cluster in `dir` (made if missing).
 * @param {{ dir: string, host?: string, serviceCidr?: string, readyMs?: number, removeDir?: boolean }} o
 * @returns {Promise<RealCluster>}
 */
export async function startCluster(o) {
  const { bins, missing } = clusterBinaries();
  if (missing.length) throw new Error(`not built: ${missing.join(', ')} (npm run build:real)`);
  // twin/pki.mjs's serving certificate names 127.0.0.1 only.
  const host = o.host ?? '127.0.0.1';
  const readyMs = o.readyMs ?? 120_000;
  const pki = await createClusterPki(join(o.dir, 'pki'));
  /** @type {import('./procs.mjs').Proc[]} */
  const procs = [];
  const stop = async () => {
    for (const p of [...procs].reverse()) await p.stop();
    if (o.removeDir) await rm(o.dir, { recursive: true, force: true });
  };
  try {
    const etcd = await startEtcd({ bin: bins.etcd.path, dir: o.dir, host, readyMs });
    procs.push(etcd.proc);
    const api = await startApiserver({ bin: bins.apiserver.path, dir: o.dir, host, etcdUrl: etcd.url, pki,
      serviceCidr: o.serviceCidr ?? '10.43.0.0/16', readyMs });
    procs.push(api.proc);
    const kubeconfig = join(o.dir, 'kubeconfig.yaml');
    await writeKubeconfig(kubeconfig, k3sKubeconfig({ server: api.server, caCert: pki.caCert, clientCert: pki.clientCert, clientKey: pki.clientKey }));
    return { dir: o.dir, server: api.server, etcdUrl: etcd.url, kubeconfig, pki, procs, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
