// @ts-check
// Shared pieces of the commands: how errors leave the process (cilium-cli's
// fatalf prints "\nError: <msg>" on stderr; errors returned to cobra are printed
// bare by main), the Kubernetes client of the root command, and the
// kind/flavor auto-detection of k8s.Client.AutodetectFlavor.
import { newClient } from './kube.mjs';

/** fatalf: stderr "\nError: <msg>\n", exit 1. */
export class Fatal extends Error {}
/** An error returned from a cobra RunE / PreRunE: stderr "<msg>\n", exit 1. */
export class Returned extends Error {}

/**
 * @typedef {object} Ctx
 * @property {import('./argv.mjs').Parsed} p
 * @property {(flag: string) => any} flag
 * @property {(line?: string) => void} out stdout line
 * @property {(line?: string) => void} err stderr line
 * @property {() => Promise<import('./kube.mjs').Kube>} client the root client (--context, --kubeconfig)
 * @property {string} namespace
 * @property {string} release
 * @property {Array<import('./kube.mjs').Kube>} clients every client made, closed at exit
 */

/**
 * @param {import('./argv.mjs').Parsed} p
 * @returns {Ctx}
 */
export function makeCtx(p) {
  /** @type {import('./kube.mjs').Kube | undefined} */
  let root;
  /** @type {Ctx} */
  const ctx = {
    p,
    flag: (f) => p.values[f],
    out: (line = '') => { process.stdout.write(`${line}\n`); },
    err: (line = '') => { process.stderr.write(`${line}\n`); },
    namespace: p.values['--namespace'],
    release: p.values['--helm-release-name'],
    clients: [],
    client: async () => {
      if (!root) {
        try {
          root = await newClient(p.values['--context'], p.values['--kubeconfig'], { as: p.values['--as'], asGroups: p.values['--as-group'] });
        } catch (e) {
          throw new Returned(`unable to create Kubernetes client: ${/** @type {Error} */ (e).message}`);
        }
        ctx.clients.push(root);
      }
      return root;
    },
  };
  return ctx;
}

/**
 * A client for another context, as cilium-cli's getRemoteClients makes it: note that the
 * real CLI passes an empty kubeconfig path, so --kubeconfig is NOT used for remote contexts
 * (KUBECONFIG or ~/.kube/config is).
 * @param {Ctx} ctx @param {string} context
 */
export async function remoteClient(ctx, context) {
  try {
    const c = await newClient(context, '', { as: ctx.flag('--as'), asGroups: ctx.flag('--as-group') });
    ctx.clients.push(c);
    return c;
  } catch (e) {
    throw new Error(`unable to create Kubernetes client to access remote cluster ${JSON.stringify(context)}: ${/** @type {Error} */ (e).message}`);
  }
}

/** @typedef {{ kind: string, clusterName: string }} Flavor */

/**
 * k8s.Client.AutodetectFlavor: by kubeconfig names first, then node labels.
 * @param {import('./kube.mjs').Kube} kube
 * @returns {Promise<Flavor>}
 */
export async function autodetectFlavor(kube) {
  const cluster = kube.clusterName();
  const context = kube.contextName();
  /** @type {Flavor} */
  const f = { kind: 'unknown', clusterName: cluster };
  if (cluster === 'minikube' || context === 'minikube') return { ...f, kind: 'minikube' };
  if (cluster.startsWith('microk8s-') || context === 'microk8s') f.kind = 'microk8s';
  if (cluster === 'rancher-desktop' || context === 'rancher-desktop') return { ...f, kind: 'rancher-desktop' };
  if (cluster.startsWith('kind-') || context.startsWith('kind-')) return { ...f, kind: 'kind' };
  if (cluster.startsWith('gke_')) return { ...f, kind: 'GKE' };
  if (cluster.endsWith('.eksctl.io')) return { ...f, kind: 'EKS' };
  if (kube.cfg.server.endsWith('eks.amazonaws.com')) return { ...f, kind: 'EKS' };
  if (kube.cfg.server.endsWith('azmk8s.io:443')) return { ...f, kind: 'AKS' };
  let nodes;
  try { nodes = await kube.list('Node', ''); } catch { return f; }
  for (const n of nodes) {
    const l = n.metadata.labels ?? {};
    if ('cloud.google.com/gke-nodepool' in l || 'cloud.google.com/gke-os-distribution' in l) return { ...f, kind: 'GKE' };
    if (l['node-role.kubernetes.io/master'] !== 'true') continue;
    const it = l['node.kubernetes.io/instance-type'] ?? l['beta.kubernetes.io/instance-type'];
    if (it === 'k3s') return { ...f, kind: 'K3s' };
  }
  return f;
}
