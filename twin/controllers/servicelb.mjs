// @ts-check
// The fault of a K3s started without `--disable=servicelb`: its ServiceLB
// (svclb, klipper-lb) takes every LoadBalancer Service that has no
// loadBalancerClass. It runs a DaemonSet `svclb-<service>-<uid prefix>` in
// kube-system (hostPort pods, so they too need the CNI) and writes the IPs of
// the nodes whose svclb pod is ready into status.loadBalancer.ingress, instead
// of an IP from a Cilium pool. Only active with `twin.options.servicelb`;
// LB-IPAM then leaves those Services alone (lbIpamResponsible).
import { Debouncer, KUBE_SYSTEM, ipToNum, podServes } from './util.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('../store/types.js').StoreEvent} StoreEvent */
/** @typedef {import('../types.js').Twin} Twin */
/** @typedef {import('../types.js').TwinCluster} TwinCluster */

const SVCS = '/services';
const DS = 'apps/daemonsets';
const SVC_LABEL = 'svccontroller.k3s.cattle.io/svcname';
const NS_LABEL = 'svccontroller.k3s.cattle.io/svcnamespace';

/** @param {Twin} twin */
export function startServiceLb(twin) {
  const parts = Object.values(twin.clusters).map((c) => new ClusterServiceLb(twin, c));
  return { stop() { for (const p of parts) p.stop(); } };
}

/** @param {KubeObject} svc */
const grabbed = (svc) => svc.spec?.type === 'LoadBalancer' && !svc.spec?.loadBalancerClass;

class ClusterServiceLb {
  /** @param {Twin} twin @param {TwinCluster} cluster */
  constructor(twin, cluster) {
    this.twin = twin;
    this.cluster = cluster;
    this.store = cluster.store;
    this.debouncer = new Debouncer(() => this.pass(), () => 0);
    /** @param {StoreEvent} ev */
    this.onEvent = (ev) => {
      const o = ev.object;
      if (ev.resource === SVCS) this.debouncer.kick();
      else if ((ev.resource === '/pods' || ev.resource === DS) && o.metadata.namespace === KUBE_SYSTEM &&
        o.metadata.labels?.[SVC_LABEL]) this.debouncer.kick();
    };
    this.store.on('event', this.onEvent);
    // K3s's ServiceLB makes the account its DaemonSets' pods run with.
    if (this.enabled && !this.store.get('/serviceaccounts', KUBE_SYSTEM, 'svclb')) {
      this.store.create('/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'svclb', namespace: KUBE_SYSTEM } });
    }
    this.debouncer.kick();
  }

  stop() {
    this.store.off('event', this.onEvent);
    this.debouncer.stop();
  }

  get enabled() { return this.twin.options.servicelb === true; }

  pass() {
    const services = this.store.list(SVCS);
    const wanted = new Set();
    if (this.enabled) {
      for (const svc of services.filter(grabbed)) {
        const dsName = `svclb-${svc.metadata.name}-${String(svc.metadata.uid ?? '').slice(0, 8)}`.slice(0, 63);
        wanted.add(dsName);
        this.ensureDaemonSet(svc, dsName);
        this.writeIngress(svc, dsName);
      }
    }
    for (const ds of this.store.list(DS, KUBE_SYSTEM)) {
      if (ds.metadata.labels?.[SVC_LABEL] && !wanted.has(ds.metadata.name)) {
        this.store.delete(DS, KUBE_SYSTEM, ds.metadata.name);
        const svc = services.find((s) => s.metadata.name === ds.metadata.labels?.[SVC_LABEL] &&
          s.metadata.namespace === ds.metadata.labels?.[NS_LABEL]);
        if (svc) this.clearIngress(svc);
      }
    }
  }

  /** @param {KubeObject} svc @param {string} dsName */
  ensureDaemonSet(svc, dsName) {
    const labels = { app: dsName, [SVC_LABEL]: svc.metadata.name, [NS_LABEL]: svc.metadata.namespace ?? 'default' };
    const containers = (svc.spec?.ports ?? []).map((/** @type {any} */ p) => ({
      name: `lb-${String(p.protocol ?? 'TCP').toLowerCase()}-${p.port}`,
      image: 'rancher/klipper-lb:v0.4.13',
      env: [
        { name: 'SRC_PORT', value: String(p.port) },
        { name: 'SRC_RANGES', value: '0.0.0.0/0' },
        { name: 'DEST_PROTO', value: p.protocol ?? 'TCP' },
        { name: 'DEST_PORT', value: String(p.nodePort ?? p.port) },
        { name: 'DEST_IPS', value: 'status.hostIPs' },
      ],
      ports: [{ name: `lb-${String(p.protocol ?? 'TCP').toLowerCase()}-${p.port}`, containerPort: p.port, hostPort: p.port, protocol: p.protocol ?? 'TCP' }],
      securityContext: { capabilities: { add: ['NET_ADMIN'] } },
    }));
    const desired = {
      selector: { matchLabels: { app: dsName } },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          containers,
          priorityClassName: 'system-node-critical',
          serviceAccountName: 'svclb',
          tolerations: [
            { key: 'node-role.kubernetes.io/master', operator: 'Exists', effect: 'NoSchedule' },
            { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
            { key: 'CriticalAddonsOnly', operator: 'Exists' },
          ],
        },
      },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
    };
    const existing = this.store.get(DS, KUBE_SYSTEM, dsName);
    if (!existing) {
      this.store.create(DS, {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: {
          name: dsName,
          namespace: KUBE_SYSTEM,
          labels: { ...labels, 'objectset.rio.cattle.io/hash': String(svc.metadata.uid ?? '').slice(0, 40) },
        },
        spec: desired,
      });
    } else if (JSON.stringify(existing.spec?.template) !== JSON.stringify(desired.template)) {
      existing.spec = { ...existing.spec, ...desired };
      this.store.update(DS, existing);
    }
  }

  /** Node IPs of the nodes with a ready svclb pod. @param {KubeObject} svc @param {string} dsName */
  writeIngress(svc, dsName) {
    const ips = this.store.list('/pods', KUBE_SYSTEM)
      .filter((p) => p.metadata.labels?.app === dsName && podServes(p))
      .map((p) => p.status?.hostIP)
      .filter((ip) => typeof ip === 'string');
    const sorted = [...new Set(ips)].sort((a, b) => (ipToNum(a) ?? 0) - (ipToNum(b) ?? 0));
    const o = this.store.get(SVCS, svc.metadata.namespace ?? '', svc.metadata.name);
    if (!o) return;
    const before = JSON.stringify(o.status ?? null);
    o.status = { ...(o.status ?? {}), loadBalancer: sorted.length ? { ingress: sorted.map((ip) => ({ ip, ipMode: 'VIP' })) } : {} };
    if (JSON.stringify(o.status) !== before) this.store.update(SVCS, o);
  }

  /** @param {KubeObject} svc */
  clearIngress(svc) {
    const nodeIps = new Set(this.cluster.nodes.map((n) => n.ip));
    const o = this.store.get(SVCS, svc.metadata.namespace ?? '', svc.metadata.name);
    if (!o?.status?.loadBalancer?.ingress) return;
    const rest = o.status.loadBalancer.ingress.filter((/** @type {any} */ i) => !nodeIps.has(i.ip));
    o.status = { ...o.status, loadBalancer: rest.length ? { ingress: rest } : {} };
    this.store.update(SVCS, o);
  }
}
