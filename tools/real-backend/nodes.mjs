// @ts-check
// The nodes of one real-backend cluster, named, labelled and annotated as K3s
// registers its own (a server and agents, InternalIPs on loopback), created
// without conditions: kwok makes them Ready, the controller-manager gives
// each a pod CIDR.
import { adminRequest } from './apiserver.mjs';

/**
 * The Node object of node `i` of cluster `key`.
 * @param {string} key "a" @param {number} i @param {string} ip @param {string} k3sVersion "v1.33.13+k3s1"
 * @param {number} [kubeletPort] where the API server reaches its kubelet (tools/real-backend/kubelet.mjs)
 */
export function k3sNode(key, i, ip, k3sVersion, kubeletPort = 10250) {
  const name = i === 0 ? `k3s-${key}-server` : `k3s-${key}-agent-${i}`;
  const server = i === 0;
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: {
      name,
      labels: {
        'beta.kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/instance-type': 'k3s', 'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux',
        'node.kubernetes.io/instance-type': 'k3s',
        ...(server ? { 'node-role.kubernetes.io/control-plane': 'true', 'node-role.kubernetes.io/master': 'true' } : {}),
      },
      annotations: { 'alpha.kubernetes.io/provided-node-ip': ip, 'k3s.io/hostname': name, 'k3s.io/internal-ip': ip, 'kwok.x-k8s.io/node': 'fake' },
    },
    spec: { providerID: `k3s://${name}` },
    status: {
      addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }],
      daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
      allocatable: { cpu: '2', memory: '4010276Ki', pods: '110' },
      capacity: { cpu: '2', memory: '4010276Ki', pods: '110' },
      nodeInfo: {
        architecture: 'amd64', containerRuntimeVersion: 'containerd://2.1.4-k3s1', kernelVersion: '6.8.0-60-generic',
        kubeletVersion: k3sVersion, kubeProxyVersion: '', operatingSystem: 'linux', osImage: 'Ubuntu 24.04.2 LTS',
        bootID: '', machineID: '', systemUUID: '',
      },
    },
  };
}

/**
 * The InternalIPs of `count` nodes: ipBase, ipBase+1, ... (all in 127.0.0.0/8).
 * @param {{ count: number, ipBase: string }} o
 */
export function nodeIps(o) {
  const [a, b, c, d] = o.ipBase.split('.').map(Number);
  if (a !== 127 || d + o.count - 1 > 254) throw new Error(`${o.ipBase} with ${o.count} nodes leaves 127.0.0.0/8`);
  return Array.from({ length: o.count }, (_, i) => `${a}.${b}.${c}.${d + i}`);
}

/**
 * Creates `count` nodes with InternalIPs from nodeIps.
 * @param {string} server @param {import('../../twin/pki.mjs').ClusterPki} pki
 * @param {{ key: string, count: number, ipBase: string, k3sVersion: string, kubeletPorts?: Record<string, number> }} o
 * @returns {Promise<string[]>} the node names
 */
export async function createNodes(server, pki, o) {
  const names = [];
  for (const [i, ip] of nodeIps(o).entries()) {
    const node = k3sNode(o.key, i, ip, o.k3sVersion, o.kubeletPorts?.[ip]);
    const r = await adminRequest(server, pki, 'POST', '/api/v1/nodes', node);
    if (r.status !== 201 && r.status !== 409) throw new Error(`creating node ${node.metadata.name}: HTTP ${r.status} ${r.body}`);
    names.push(node.metadata.name);
  }
  return names;
}
