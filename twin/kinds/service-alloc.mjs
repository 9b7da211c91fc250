// @ts-check
// ClusterIP and NodePort allocation of Services, as the service REST storage
// does it: cluster IPs from the cluster's own service CIDR (--service-cidr; the twin
// follows the README: 10.96.0.0/12 for A, 10.112.0.0/12 for B),
// node ports from 30000-32767, values kept across updates that leave them out.
import { randomInt } from 'node:crypto';
import { invalid } from './errors.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('./errors.mjs').FieldError} FieldError */

/** @param {string} ip */
export function ipToInt(ip) {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return NaN;
  return ((p[0] << 24) >>> 0) + (p[1] << 16) + (p[2] << 8) + p[3];
}

/** @param {number} n */
export function intToIp(n) {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** @param {string} cidr @returns {{ base: number, size: number }} */
export function parseCidr(cidr) {
  const [ip, bits] = cidr.split('/');
  const b = Number(bits);
  const size = 2 ** (32 - b);
  const base = Math.floor(ipToInt(ip) / size) * size;
  return { base, size };
}

/** The n-th address of a CIDR (1: the kubernetes Service, 10: kube-dns). @param {string} cidr @param {number} n */
export function nthIp(cidr, n) {
  return intToIp(parseCidr(cidr).base + n);
}

const NODE_PORT_MIN = 30000;
const NODE_PORT_MAX = 32767;

/** @param {any} spec */
const needsNodePorts = (spec) => spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);

/**
 * Fills spec.clusterIP(s), ipFamilies, ipFamilyPolicy and node ports in place.
 * @param {KubeObject[]} services all Services of the cluster
 * @param {string} cidr
 * @param {KubeObject} svc
 * @param {KubeObject} [old] the stored Service on update
 */
export function allocateService(services, cidr, svc, old) {
  const spec = svc.spec;
  const others = services.filter((s) => !(s.metadata.namespace === svc.metadata.namespace && s.metadata.name === svc.metadata.name));
  /** @type {FieldError[]} */
  const errs = [];
  if (spec.type === 'ExternalName') {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  } else {
    if (old && old.spec?.clusterIP && !spec.clusterIP && !(spec.clusterIPs ?? []).length) {
      spec.clusterIP = old.spec.clusterIP;
      spec.clusterIPs = old.spec.clusterIPs ?? [old.spec.clusterIP];
    }
    if (!spec.clusterIP && Array.isArray(spec.clusterIPs) && spec.clusterIPs.length) spec.clusterIP = spec.clusterIPs[0];
    if (old && old.spec?.clusterIP && spec.clusterIP !== old.spec.clusterIP) {
      errs.push({ type: 'Invalid', field: 'spec.clusterIPs[0]', value: [spec.clusterIP], detail: 'may not change once set' });
    } else if (spec.clusterIP === 'None') {
      spec.clusterIPs = ['None'];
    } else if (!old || !old.spec?.clusterIP) {
      const used = new Set(others.flatMap((s) => s.spec?.clusterIPs ?? [s.spec?.clusterIP]).filter(Boolean));
      const { base, size } = parseCidr(cidr);
      if (spec.clusterIP) {
        const n = ipToInt(spec.clusterIP);
        if (!(n > base && n < base + size - 1)) {
          errs.push({ type: 'Invalid', field: 'spec.clusterIPs', value: [spec.clusterIP], detail: `failed to allocate IP ${spec.clusterIP}: the provided IP (${spec.clusterIP}) is not in the valid range. The range of valid IPs is ${cidr}` });
        } else if (used.has(spec.clusterIP)) {
          errs.push({ type: 'Invalid', field: 'spec.clusterIPs', value: [spec.clusterIP], detail: `failed to allocate IP ${spec.clusterIP}: provided IP is already allocated` });
        }
      } else {
        for (let i = 0; i < 10_000 && !spec.clusterIP; i++) {
          const ip = intToIp(base + randomInt(1, Math.max(2, size - 1)));
          if (!used.has(ip)) spec.clusterIP = ip;
        }
      }
      spec.clusterIPs = [spec.clusterIP];
    }
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
  }
  /** @type {any[]} */
  const ports = Array.isArray(spec.ports) ? spec.ports : [];
  if (needsNodePorts(spec)) {
    const usedPorts = new Set(others.flatMap((s) => (s.spec?.ports ?? []).map((/** @type {any} */ p) => p.nodePort)).filter(Boolean));
    /** @type {Map<string, number>} */
    const oldByName = new Map();
    if (old && needsNodePorts(old.spec ?? {})) for (const p of old.spec.ports ?? []) oldByName.set(p.name ?? '', p.nodePort);
    const mine = new Set(ports.map((p) => p.nodePort).filter(Boolean));
    ports.forEach((p, i) => {
      if (!p.nodePort && oldByName.get(p.name ?? '') && !mine.has(oldByName.get(p.name ?? ''))) p.nodePort = oldByName.get(p.name ?? '');
      if (p.nodePort) {
        if (p.nodePort < NODE_PORT_MIN || p.nodePort > NODE_PORT_MAX) {
          errs.push({ type: 'Invalid', field: `spec.ports[${i}].nodePort`, value: p.nodePort, detail: `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_MIN}-${NODE_PORT_MAX}` });
        } else if (usedPorts.has(p.nodePort)) {
          errs.push({ type: 'Invalid', field: `spec.ports[${i}].nodePort`, value: p.nodePort, detail: 'provided port is already allocated' });
        }
      } else {
        for (let t = 0; t < 10_000 && !p.nodePort; t++) {
          const n = randomInt(NODE_PORT_MIN, NODE_PORT_MAX + 1);
          if (!usedPorts.has(n) && !mine.has(n)) p.nodePort = n;
        }
      }
      mine.add(p.nodePort);
    });
  } else {
    for (const p of ports) delete p.nodePort;
  }
  if (errs.length) throw invalid({ group: '', kind: 'Service' }, svc.metadata.name, errs);
}
