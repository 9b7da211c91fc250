// @ts-check
// One cluster of the real backend: etcd and kube-apiserver built by
// `npm run build:real` (and, when asked, kube-controller-manager and
// kube-scheduler, and kwok with K3s-like nodes), on a loopback address, everything in one folder
// (certificates from twin/pki.mjs, K3s style), and a K3s-style kubeconfig.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { realBinary, k3sVersion } from '../build-real.mjs';
import { createClusterPki } from '../../twin/pki.mjs';
import { k3sKubeconfig, writeKubeconfig } from '../../twin/kubeconfig.mjs';
import { startEtcd } from './etcd.mjs';
import { startApiserver } from './apiserver.mjs';
import { startControllerManager, startScheduler } from './controllers.mjs';
import { startKwok } from './kwok.mjs';
import { createNodes, nodeIps } from './nodes.mjs';
import { startKubelets } from './kubelet.mjs';
import { startVolumeGate } from './volume-gate.mjs';

/**
 * The binaries a cluster runs, and the ones not built yet ("kube-scheduler v1.33.13").
 * @param {{ controllers?: boolean, nodes?: unknown }} [o] with kube-controller-manager and
 *   kube-scheduler; with kwok's nodes too
 */
export function clusterBinaries(o = {}) {
  const bins = {
    etcd: realBinary('etcd'), apiserver: realBinary('kube-apiserver'),
    controllerManager: realBinary('kube-controller-manager'), scheduler: realBinary('kube-scheduler'), kwok: realBinary('kwok'),
  };
  const needed = [bins.etcd, bins.apiserver, ...(o.controllers || o.nodes ? [bins.controllerManager, bins.scheduler] : []),
    ...(o.nodes ? [bins.kwok] : [])];
  const missing = needed.filter((b) => !b.built).map((b) => `${b.bin} ${b.version}`);
  return { bins, missing };
}

/**
 * @typedef {object} RealCluster
 * @property {string} dir
 * @property {string} server https://127.x:port
 * @property {string} etcdUrl http://127.x:port
 * @property {string} kubeconfig path
 * @property {string} auditLog the apiserver's audit log (tools/real-backend/audit.mjs)
 * @property {import('../../twin/pki.mjs').ClusterPki} pki
 * @property {import('./procs.mjs').Proc[]} procs
 * @property {string[]} nodes node names (with `nodes`)
 * @property {() => Promise<void>} stop stops the processes; removes the folder when `removeDir`
 */

/**
 * Starts one cluster in `dir` (made if missing). Cluster `key` "a" names its
 * nodes k3s-a-server, k3s-a-agent-1, ...; `nodes` implies `controllers`.
 * With `exec`, the nodes' kubelets answer exec (tools/real-backend/kubelet.mjs) with the
 * model it gives for the cluster, at the time of each exec.
 * @param {{ dir: string, key?: string, host?: string, podCidr?: string, serviceCidr?: string, controllers?: boolean,
 *   nodes?: { count: number, ipBase: string }, readyMs?: number, removeDir?: boolean,
 *   exec?: { model: () => import('../../twin/server/exec.mjs').ExecModel } }} o
 * @returns {Promise<RealCluster>}
 */
export async function startCluster(o) {
  const { bins, missing } = clusterBinaries(o);
  if (missing.length) throw new Error(`not built: ${missing.join(', ')} (npm run build:real)`);
  // twin/pki.mjs's serving certificate names 127.0.0.1 only.
  const host = o.host ?? '127.0.0.1';
  const readyMs = o.readyMs ?? 120_000;
  const pki = await createClusterPki(join(o.dir, 'pki'));
  /** @type {import('./procs.mjs').Proc[]} */
  const procs = [];
  /** @type {import('./kubelet.mjs').Kubelets | undefined} */
  let kubelets;
  /** @type {{ stop: () => Promise<void> } | undefined} */
  let volumeGate;
  const stop = async () => {
    await volumeGate?.stop();
    await kubelets?.stop();
    for (const p of [...procs].reverse()) await p.stop();
    if (o.removeDir) await rm(o.dir, { recursive: true, force: true });
  };
  try {
    const etcd = await startEtcd({ bin: bins.etcd.path, dir: o.dir, host, readyMs });
    procs.push(etcd.proc);
    const serviceCidr = o.serviceCidr ?? '10.96.0.0/12';
    const api = await startApiserver({ bin: bins.apiserver.path, dir: o.dir, host, etcdUrl: etcd.url, pki, serviceCidr, readyMs });
    procs.push(api.proc);
    const kubeconfig = join(o.dir, 'kubeconfig.yaml');
    await writeKubeconfig(kubeconfig, k3sKubeconfig({ server: api.server, caCert: pki.caCert, clientCert: pki.clientCert, clientKey: pki.clientKey }));
    if (o.controllers || o.nodes) {
      const common = { dir: o.dir, host, kubeconfig, readyMs };
      procs.push(await startControllerManager({ ...common, bin: bins.controllerManager.path, pkiDir: pki.dir, saKey: api.saKey,
        podCidr: o.podCidr ?? '10.42.0.0/16', serviceCidr }));
      procs.push(await startScheduler({ ...common, bin: bins.scheduler.path }));
    }
    /** @type {string[]} */
    let nodes = [];
    if (o.nodes) {
      procs.push(startKwok({ bin: bins.kwok.path, dir: o.dir, kubeconfig, host }));
      volumeGate = startVolumeGate({ server: api.server, pki }); // kwok starts pods whose volumes mount
      const exec = o.exec;
      kubelets = exec && await startKubelets({ server: api.server, pki, ips: nodeIps(o.nodes), model: () => exec.model() });
      nodes = await createNodes(api.server, pki, { key: o.key ?? 'a', ...o.nodes, k3sVersion: k3sVersion(bins.apiserver.version), kubeletPorts: kubelets?.ports });
    }
    return { dir: o.dir, server: api.server, etcdUrl: etcd.url, kubeconfig, auditLog: api.auditLog, pki, procs, nodes, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
