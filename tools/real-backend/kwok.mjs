// @ts-check
// kwok for one cluster: it plays the kubelets of every node (kwok-stages.yaml
// says how nodes and pods move) and renews their leases. No kwok server is
// started (no --server-address, no --node-port).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess } from './procs.mjs';

export const STAGES = fileURLToPath(new URL('./kwok-stages.yaml', import.meta.url));

/** @param {{ bin: string, dir: string, kubeconfig: string, host: string }} o */
export function startKwok(o) {
  return startProcess('kwok', o.bin, [
    `--kubeconfig=${o.kubeconfig}`, `--config=${STAGES}`,
    '--manage-all-nodes=true', `--node-ip=${o.host}`, '--node-lease-duration-seconds=40',
  ], join(o.dir, 'kwok.log'), { ...process.env, HOME: o.dir });
}
