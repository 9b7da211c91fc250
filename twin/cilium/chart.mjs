// @ts-check
// "The chart": renders, from coalesced Helm values, the objects of the Cilium
// 1.19 chart that the twin needs, with the chart's names, labels, selectors and
// config keys, and fails where the chart's templates fail (same messages and
// template positions). Not rendered: CRDs (the operator registers those), hubble
// certificates, metrics Services. ServiceAccounts and RBAC come from
// chart-rbac.mjs; the certgen Job and CronJob (tls.auto.method cronJob) from
// chart-certgen.mjs; the twin's Job controller runs the Job.
//
// Twin extension: a workload that could not work in a real cluster is annotated
// `twin.runbook/broken: <reason>` so the twin's controllers never make it ready.
import { dig, isTable, truthy } from './values.mjs';
import { renderCertgen } from './chart-certgen.mjs';
import { renderRbac, saAutomount, saName } from './chart-rbac.mjs';

/** @typedef {import('./values.mjs').Values} Values */
/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {{ source: string, obj: KubeObject }} Rendered */

export const BROKEN_ANNOTATION = 'twin.runbook/broken';

/** A template `fail`, reported like Helm: "execution error at (cilium/templates/x.yaml:L:C): msg". */
export class ChartError extends Error {}

/** @param {string} file @param {number} line @param {number} col @param {string} msg */
const fail = (file, line, col, msg) => new ChartError(`execution error at (cilium/templates/${file}:${line}:${col}): ${msg}`);

/**
 * @typedef {object} RenderContext
 * @property {Values} values coalesced values (chart defaults + release config)
 * @property {string} namespace release namespace
 * @property {string} releaseName
 * @property {string} chartVersion
 * @property {{ cert: string, key: string }} ca the CA the chart uses (from tls.ca.*, the existing Secret, or new)
 * @property {Record<string, Record<string, string>>} [helmCerts] data of helm-method clustermesh cert Secrets, by name
 */

/** @param {string} s */
const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');

/** Template `toString` of a value. @param {any} v */
const tostr = (v) => (v === null || v === undefined ? '<nil>' : String(v));

/**
 * Whether the chart renders the cilium-ca Secret (templates/cilium-ca-secret.yaml).
 * @param {Values} v
 */
export function caSecretRendered(v) {
  const cmHelm = truthy(dig(v, 'clustermesh', 'useAPIServer')) && truthy(dig(v, 'clustermesh', 'apiserver', 'tls', 'auto', 'enabled'))
    && dig(v, 'clustermesh', 'apiserver', 'tls', 'auto', 'method') === 'helm';
  const hubbleHelm = (truthy(v.agent) || truthy(dig(v, 'hubble', 'relay', 'enabled')) || truthy(dig(v, 'hubble', 'ui', 'enabled')))
    && truthy(dig(v, 'hubble', 'enabled')) && truthy(dig(v, 'hubble', 'tls', 'enabled')) && truthy(dig(v, 'hubble', 'tls', 'auto', 'enabled'))
    && dig(v, 'hubble', 'tls', 'auto', 'method') === 'helm';
  return cmHelm || hubbleHelm || (truthy(dig(v, 'tls', 'ca', 'key')) && truthy(dig(v, 'tls', 'ca', 'cert')));
}

/**
 * The clusters of clustermesh.config.clusters as the chart's "clustermesh-clusters" helper sees them.
 * @param {Values} v
 * @returns {Array<{ name: string, ips?: string[], address?: string, port?: number, tls?: any }>}
 */
export function meshClusters(v) {
  const c = dig(v, 'clustermesh', 'config', 'clusters');
  /** @type {Record<string, any>} */
  const out = {};
  if (isTable(c)) {
    for (const [name, cl] of Object.entries(c)) if (isTable(cl) && cl.enabled !== false) out[name] = { ...cl, name };
  } else if (Array.isArray(c)) {
    for (const cl of c) if (isTable(cl) && cl.enabled !== false) out[cl.name] = { ...cl };
  } else if (c !== undefined && c !== null) {
    throw fail('clustermesh-config/_helpers.tpl', 65, 5, `unknown type ${typeof c} for clustermesh.config.clusters`);
  }
  return Object.keys(out).sort().map((k) => out[k]);
}

/**
 * etcd configuration of one remote cluster (clustermesh-config-generate-etcd-cfg). The twin
 * writes the remote endpoint as https://IP:PORT (the twin's contract; the real chart writes
 * https://<name>.<domain>:<port> with hostAliases, or the local kvstoremesh for agents).
 * @param {{ name: string, ips?: string[], address?: string, port?: number, tls?: any }} cl
 * @param {boolean} agentsViaKvstoremesh
 */
export function etcdConfig(cl, agentsViaKvstoremesh) {
  const eps = cl.ips && cl.ips.length ? cl.ips.map((ip) => `- https://${ip}:${cl.port}`) : [`- https://${cl.address}:${cl.port}`];
  const custom = cl.tls && cl.tls.cert && cl.tls.key;
  let prefix = custom ? `${cl.name}.` : 'common-';
  if (agentsViaKvstoremesh) prefix = 'local-';
  const caPrefix = agentsViaKvstoremesh || (cl.tls && cl.tls.caCert) ? prefix : 'common-';
  return ['endpoints:', ...eps,
    `trusted-ca-file: /var/lib/cilium/clustermesh/${caPrefix}etcd-client-ca.crt`,
    `key-file: /var/lib/cilium/clustermesh/${prefix}etcd-client.key`,
    `cert-file: /var/lib/cilium/clustermesh/${prefix}etcd-client.crt`, ''].join('\n');
}

/**
 * Why the host-network components cannot reach the API server: with kubeProxyReplacement=true
 * nothing serves the kubernetes Service IP on a K3s started with --disable-kube-proxy, so the
 * agents and the operator need k8sServiceHost. '' when they can.
 * @param {Values} v
 */
export function apiUnreachableReason(v) {
  const kpr = tostr(v.kubeProxyReplacement);
  if (kpr === 'true' && !truthy(v.k8sServiceHost) && !(truthy(dig(v, 'k8sServiceHostRef', 'name')) && truthy(dig(v, 'k8sServiceHostRef', 'key')))) {
    return 'k8sServiceHost unset with kubeProxyReplacement=true';
  }
  return '';
}

/**
 * Why the cilium agents of this configuration can never become ready in a real K3s cluster, or ''.
 * @param {Values} v
 */
export function brokenReason(v) {
  const api = apiUnreachableReason(v);
  if (api) return api;
  const id = Number(dig(v, 'cluster', 'id'));
  const max = Number(dig(v, 'clustermesh', 'maxConnectedClusters') ?? 255);
  if (Number.isFinite(id) && (id < 0 || id > max)) return `invalid cluster id ${id}: must be in range 0..${max}`;
  return '';
}

/**
 * Renders the chart. Throws ChartError where the chart's templates would fail.
 * @param {RenderContext} ctx
 * @returns {Rendered[]}
 */
export function renderChart(ctx) {
  const v = ctx.values;
  const ns = ctx.namespace;
  const common = isTable(v.commonLabels) ? v.commonLabels : {};

  // templates/validate.yaml (rendered before cilium-configmap.yaml: Helm sorts same-depth templates in reverse).
  if (truthy(dig(v, 'hubble', 'ui', 'enabled')) && !truthy(dig(v, 'hubble', 'ui', 'standalone', 'enabled')) && !truthy(dig(v, 'hubble', 'relay', 'enabled'))) {
    throw fail('validate.yaml', 61, 7, 'Hubble UI requires .Values.hubble.relay.enabled=true');
  }
  if (truthy(dig(v, 'hubble', 'relay', 'enabled')) && !truthy(dig(v, 'hubble', 'enabled'))) {
    throw fail('validate.yaml', 71, 7, 'Hubble Relay requires .Values.hubble.enabled=true');
  }
  const clusterName = dig(v, 'cluster', 'name');
  if (clusterName === '' || clusterName === undefined || clusterName === null) throw fail('validate.yaml', 153, 5, 'The cluster name is invalid: cannot be empty');
  if (String(clusterName).length > 32) throw fail('validate.yaml', 156, 5, 'The cluster name is invalid: must not be more than 32 characters');
  if (!/^([a-z0-9][-a-z0-9]*)?[a-z0-9]$/.test(String(clusterName))) {
    throw fail('validate.yaml', 159, 5, "The cluster name is invalid: must consist of lower case alphanumeric characters and '-', and must start and end with an alphanumeric character");
  }
  const clusterId = Math.trunc(Number(dig(v, 'cluster', 'id') ?? 0));
  if (clusterName === 'default' && clusterId !== 0) throw fail('validate.yaml', 162, 5, 'The cluster name is invalid: cannot use default value with cluster.id != 0');
  const kvMode = dig(v, 'clustermesh', 'apiserver', 'kvstoremesh', 'kvstoreMode');
  if (kvMode !== 'internal' && kvMode !== 'external') throw fail('validate.yaml', 174, 4, '.Values.clustermesh.apiserver.kvstoremesh.kvstoreMode must have the value of external or internal');
  const maxCC = Math.trunc(Number(dig(v, 'clustermesh', 'maxConnectedClusters')));
  if (maxCC !== 255 && maxCC !== 511) throw fail('validate.yaml', 207, 6, 'max-connected-clusters must be set to 255 or 511');

  // templates/cilium-configmap.yaml
  let kprStr = tostr(v.kubeProxyReplacement);
  if (kprStr === '<nil>') kprStr = '';
  const kpr = kprStr || 'false';
  if (kpr !== 'true' && kpr !== 'false') throw fail('cilium-configmap.yaml', 79, 5, 'kubeProxyReplacement must be explicitly set to a valid value (true or false) to continue.');
  const authMode = dig(v, 'clustermesh', 'apiserver', 'tls', 'authMode');
  const useAPIServer = truthy(dig(v, 'clustermesh', 'useAPIServer'));
  if (useAPIServer && !['legacy', 'migration', 'cluster'].includes(authMode)) {
    throw fail('clustermesh-apiserver/deployment.yaml', 3, 4, '.Values.clustermesh.apiserver.tls.authMode must be one of legacy, migration, cluster');
  }

  /** @type {Rendered[]} */
  const out = [];
  /** @param {string} source @param {KubeObject} obj */
  const emit = (source, obj) => out.push({ source: `cilium/templates/${source}`, obj });
  /** @param {Record<string,string>} labels */
  const withCommon = (labels) => ({ ...labels, ...common });
  const broken = brokenReason(v);
  const brokenAnn = broken ? { [BROKEN_ANNOTATION]: broken } : undefined;
  const opBroken = apiUnreachableReason(v);
  const opBrokenAnn = opBroken ? { [BROKEN_ANNOTATION]: opBroken } : undefined;

  // Secrets
  if (caSecretRendered(v)) {
    emit('cilium-ca-secret.yaml', {
      apiVersion: 'v1', kind: 'Secret',
      metadata: { name: 'cilium-ca', namespace: ns, labels: withCommon({ 'cilium.io/helm-template-non-idempotent': 'true' }) },
      data: { 'ca.crt': b64(ctx.ca.cert), 'ca.key': b64(ctx.ca.key) },
    });
  }
  const cmAnn = isTable(dig(v, 'clustermesh', 'annotations')) && Object.keys(dig(v, 'clustermesh', 'annotations')).length ? dig(v, 'clustermesh', 'annotations') : undefined;
  const kvstoremesh = useAPIServer && truthy(dig(v, 'clustermesh', 'apiserver', 'kvstoremesh', 'enabled'));
  const configEnabled = truthy(dig(v, 'clustermesh', 'config', 'enabled'));
  const clusters = meshClusters(v);
  if (configEnabled) {
    /** @type {Record<string,string>} */
    const data = {};
    for (const cl of clusters) data[cl.name] = b64(etcdConfig(cl, kvstoremesh));
    emit('clustermesh-config/clustermesh-secret.yaml', {
      apiVersion: 'v1', kind: 'Secret',
      metadata: { name: 'cilium-clustermesh', namespace: ns, ...(cmAnn ? { annotations: cmAnn } : {}), ...(Object.keys(common).length ? { labels: common } : {}) },
      data,
    });
    if (kvstoremesh) {
      /** @type {Record<string,string>} */
      const kdata = {};
      for (const cl of clusters) kdata[cl.name] = b64(etcdConfig(cl, false));
      emit('clustermesh-config/kvstoremesh-secret.yaml', {
        apiVersion: 'v1', kind: 'Secret',
        metadata: { name: 'cilium-kvstoremesh', namespace: ns, ...(cmAnn ? { annotations: cmAnn } : {}), ...(Object.keys(common).length ? { labels: common } : {}) },
        data: kdata,
      });
    }
  }
  if (useAPIServer && ctx.helmCerts && dig(v, 'clustermesh', 'apiserver', 'tls', 'auto', 'method') === 'helm' && truthy(dig(v, 'clustermesh', 'apiserver', 'tls', 'auto', 'enabled'))) {
    for (const [name, data] of Object.entries(ctx.helmCerts)) {
      emit(`clustermesh-apiserver/tls-helm/${name.replace('clustermesh-apiserver-', '').replace('-cert', '')}-secret.yaml`, {
        apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
        metadata: { name, namespace: ns, labels: withCommon({ 'cilium.io/helm-template-non-idempotent': 'true' }) },
        data,
      });
    }
  }

  for (const r of renderCertgen(v, ns, common)) emit(r.source, r.obj);

  const hubble = truthy(dig(v, 'hubble', 'enabled'));
  const relay = hubble && truthy(dig(v, 'hubble', 'relay', 'enabled'));
  const ui = hubble && truthy(dig(v, 'hubble', 'ui', 'enabled'));
  const preflight = truthy(dig(v, 'preflight', 'enabled'));
  const envoyEnabled = !truthy(v.l7Proxy) ? false : dig(v, 'envoy', 'enabled') ?? true;
  const enabled = {
    agent: truthy(v.agent) && !preflight, envoy: truthy(envoyEnabled) && !preflight, operator: truthy(dig(v, 'operator', 'enabled')),
    relay, ui, clustermesh: useAPIServer,
  };
  for (const r of renderRbac(v, ns, common, enabled)) emit(r.source, r.obj);

  // ConfigMap cilium-config
  const ipamMode = dig(v, 'ipam', 'mode') || 'cluster-pool';
  /** @type {Record<string,string>} */
  const cfg = {
    'identity-allocation-mode': String(v.identityAllocationMode),
    debug: 'false',
    'enable-ipv4': String(dig(v, 'ipv4', 'enabled')),
    'enable-ipv6': String(dig(v, 'ipv6', 'enabled')),
    'cluster-name': String(clusterName),
  };
  if (isTable(v.cluster) && 'id' in v.cluster) cfg['cluster-id'] = tostr(dig(v, 'cluster', 'id'));
  cfg['routing-mode'] = String(v.routingMode || 'tunnel');
  cfg['tunnel-protocol'] = String(v.tunnelProtocol || 'vxlan');
  cfg['kube-proxy-replacement'] = kpr;
  cfg['enable-hubble'] = String(dig(v, 'hubble', 'enabled'));
  if (truthy(dig(v, 'hubble', 'enabled'))) {
    cfg['hubble-listen-address'] = ':4244';
    const metrics = dig(v, 'hubble', 'metrics', 'enabled');
    if (Array.isArray(metrics) && metrics.length) {
      cfg['hubble-metrics-server'] = ':9965';
      cfg['hubble-metrics'] = metrics.map(String).join(' ');
    }
  }
  cfg.ipam = ipamMode === 'cluster-pool' || !ipamMode ? 'cluster-pool' : String(ipamMode);
  if (cfg.ipam === 'cluster-pool') {
    const list = dig(v, 'ipam', 'operator', 'clusterPoolIPv4PodCIDRList');
    cfg['cluster-pool-ipv4-cidr'] = Array.isArray(list) ? list.map(String).join(' ') : tostr(list);
    cfg['cluster-pool-ipv4-mask-size'] = tostr(dig(v, 'ipam', 'operator', 'clusterPoolIPv4MaskSize'));
  }
  if (truthy(dig(v, 'l2announcements', 'enabled'))) cfg['enable-l2-announcements'] = 'true';
  if (isTable(v.clustermesh) && 'maxConnectedClusters' in v.clustermesh) cfg['max-connected-clusters'] = tostr(dig(v, 'clustermesh', 'maxConnectedClusters'));
  cfg['enable-lb-ipam'] = String(v.enableLBIPAM);
  cfg['default-lb-service-ipam'] = String(v.defaultLBServiceIPAM ?? 'lbipam');
  if (isTable(v.extraConfig)) for (const [k, val] of Object.entries(v.extraConfig)) cfg[k] = tostr(val);
  emit('cilium-configmap.yaml', {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: 'cilium-config', namespace: ns, ...(Object.keys(common).length ? { labels: common } : {}) },
    data: cfg,
  });

  // Services
  if (truthy(v.agent) && hubble) {
    emit('hubble/peer-service.yaml', {
      apiVersion: 'v1', kind: 'Service',
      metadata: { name: 'hubble-peer', namespace: ns, labels: withCommon({ 'k8s-app': 'cilium', 'app.kubernetes.io/part-of': 'cilium', 'app.kubernetes.io/name': 'hubble-peer' }) },
      spec: { selector: { 'k8s-app': 'cilium' }, ports: [{ name: 'peer-service', port: 443, protocol: 'TCP', targetPort: 4244 }], internalTrafficPolicy: 'Local' },
    });
  }
  if (relay) {
    emit('hubble-relay/service.yaml', {
      apiVersion: 'v1', kind: 'Service',
      metadata: { name: 'hubble-relay', namespace: ns, labels: withCommon({ 'k8s-app': 'hubble-relay', 'app.kubernetes.io/name': 'hubble-relay', 'app.kubernetes.io/part-of': 'cilium' }) },
      spec: { type: 'ClusterIP', selector: { 'k8s-app': 'hubble-relay' }, ports: [{ protocol: 'TCP', port: 80, targetPort: 'grpc' }] },
    });
  }
  if (ui) {
    emit('hubble-ui/service.yaml', {
      apiVersion: 'v1', kind: 'Service',
      metadata: { name: 'hubble-ui', namespace: ns, labels: withCommon({ 'k8s-app': 'hubble-ui', 'app.kubernetes.io/name': 'hubble-ui', 'app.kubernetes.io/part-of': 'cilium' }) },
      spec: { type: 'ClusterIP', selector: { 'k8s-app': 'hubble-ui' }, ports: [{ name: 'http', port: 80, targetPort: 8081 }] },
    });
  }
  if (useAPIServer && kvMode === 'internal' && !truthy(dig(v, 'clustermesh', 'apiserver', 'service', 'externallyCreated'))) {
    const svc = dig(v, 'clustermesh', 'apiserver', 'service') ?? {};
    const type = svc.type;
    /** @type {Record<string, any>} */
    const port = { port: 2379 };
    if (type === 'NodePort' && truthy(svc.nodePort)) port.nodePort = svc.nodePort;
    const annotations = { ...(cmAnn ?? {}), ...(isTable(svc.annotations) ? svc.annotations : {}) };
    /** @type {Record<string, any>} */
    const spec = { type, selector: { 'k8s-app': 'clustermesh-apiserver' }, ports: [port] };
    if (type === 'LoadBalancer' && truthy(svc.loadBalancerClass)) spec.loadBalancerClass = svc.loadBalancerClass;
    if (type === 'LoadBalancer' && truthy(svc.loadBalancerIP)) spec.loadBalancerIP = svc.loadBalancerIP;
    spec.externalTrafficPolicy = svc.externalTrafficPolicy ?? 'Cluster';
    spec.internalTrafficPolicy = svc.internalTrafficPolicy ?? 'Cluster';
    if (type === 'ClusterIP') delete spec.externalTrafficPolicy;
    emit('clustermesh-apiserver/service.yaml', {
      apiVersion: 'v1', kind: 'Service',
      metadata: {
        name: 'clustermesh-apiserver', namespace: ns,
        labels: withCommon({ 'k8s-app': 'clustermesh-apiserver', 'app.kubernetes.io/part-of': 'cilium', 'app.kubernetes.io/name': 'clustermesh-apiserver', ...(isTable(svc.labels) ? svc.labels : {}) }),
        ...(Object.keys(annotations).length ? { annotations } : {}),
      },
      spec,
    });
  }

  // Workloads
  const img = (/** @type {any} */ i, suffix = '') => `${i.repository}${suffix}:${i.tag}`;
  const k8sEnv = truthy(v.k8sServiceHost)
    ? [{ name: 'KUBERNETES_SERVICE_HOST', value: String(v.k8sServiceHost) }, { name: 'KUBERNETES_SERVICE_PORT', value: tostr(v.k8sServicePort) }]
    : [];
  const nodeEnv = [
    { name: 'K8S_NODE_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } },
    { name: 'CILIUM_K8S_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
  ];
  if (enabled.agent) {
    const labels = { 'k8s-app': 'cilium', 'app.kubernetes.io/part-of': 'cilium', 'app.kubernetes.io/name': 'cilium-agent' };
    /** @type {Record<string, any>} */
    const podSpec = {
      containers: [{
        name: 'cilium-agent', image: img(v.image), imagePullPolicy: dig(v, 'image', 'pullPolicy') ?? 'IfNotPresent',
        command: ['cilium-agent'], args: ['--config-dir=/tmp/cilium/config-map'],
        env: [...nodeEnv, { name: 'CILIUM_CLUSTERMESH_CONFIG', value: '/var/lib/cilium/clustermesh/' }, ...k8sEnv],
      }],
      hostNetwork: true,
      priorityClassName: 'system-node-critical',
      restartPolicy: 'Always',
      serviceAccountName: saName(v, 'cilium'),
      automountServiceAccountToken: saAutomount(v, 'cilium'),
      terminationGracePeriodSeconds: 1,
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ operator: 'Exists' }],
    };
    if (configEnabled && !kvstoremesh) {
      podSpec.hostAliases = clusters.flatMap((cl) => (cl.ips ?? []).map((ip) => ({ ip, hostnames: [`${cl.name}.${dig(v, 'clustermesh', 'config', 'domain')}`] })));
    }
    emit('cilium-agent/daemonset.yaml', {
      apiVersion: 'apps/v1', kind: 'DaemonSet',
      metadata: { name: 'cilium', namespace: ns, labels: withCommon(labels), ...(brokenAnn ? { annotations: brokenAnn } : {}) },
      spec: {
        selector: { matchLabels: { 'k8s-app': 'cilium' } },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2 } },
        template: { metadata: { labels: withCommon(labels) }, spec: podSpec },
      },
    });
  }
  if (enabled.envoy) {
    const labels = { 'k8s-app': 'cilium-envoy', 'app.kubernetes.io/part-of': 'cilium', 'app.kubernetes.io/name': 'cilium-envoy', name: 'cilium-envoy' };
    emit('cilium-envoy/daemonset.yaml', {
      apiVersion: 'apps/v1', kind: 'DaemonSet',
      metadata: { name: 'cilium-envoy', namespace: ns, labels: withCommon(labels) },
      spec: {
        selector: { matchLabels: { 'k8s-app': 'cilium-envoy' } },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2 } },
        template: {
          metadata: { labels: withCommon(labels) },
          spec: {
            containers: [{ name: 'cilium-envoy', image: img(dig(v, 'envoy', 'image')), imagePullPolicy: 'IfNotPresent', command: ['/usr/bin/cilium-envoy-starter'], env: [...nodeEnv, ...k8sEnv] }],
            hostNetwork: true, restartPolicy: 'Always', serviceAccountName: saName(v, 'envoy'), automountServiceAccountToken: saAutomount(v, 'envoy'), priorityClassName: 'system-node-critical',
            nodeSelector: { 'kubernetes.io/os': 'linux' }, tolerations: [{ operator: 'Exists' }],
          },
        },
      },
    });
  }
  if (enabled.operator) {
    const labels = { 'io.cilium/app': 'operator', name: 'cilium-operator', 'app.kubernetes.io/part-of': 'cilium', 'app.kubernetes.io/name': 'cilium-operator' };
    emit('cilium-operator/deployment.yaml', {
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: { name: 'cilium-operator', namespace: ns, labels: withCommon(labels), ...(opBrokenAnn ? { annotations: opBrokenAnn } : {}) },
      spec: {
        replicas: Number(dig(v, 'operator', 'replicas')),
        selector: { matchLabels: { 'io.cilium/app': 'operator', name: 'cilium-operator' } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '50%' } },
        template: {
          metadata: { labels: withCommon(labels) },
          spec: {
            containers: [{ name: 'cilium-operator', image: img(dig(v, 'operator', 'image'), '-generic'), imagePullPolicy: 'IfNotPresent', command: ['cilium-operator-generic'], args: ['--config-dir=/tmp/cilium/config-map', '--debug=$(CILIUM_DEBUG)'], env: [...nodeEnv, ...k8sEnv] }],
            hostNetwork: true, restartPolicy: 'Always', priorityClassName: 'system-cluster-critical', serviceAccountName: saName(v, 'operator'), automountServiceAccountToken: saAutomount(v, 'operator'),
            nodeSelector: { 'kubernetes.io/os': 'linux' }, tolerations: [{ operator: 'Exists' }],
          },
        },
      },
    });
  }
  if (relay) {
    const labels = { 'k8s-app': 'hubble-relay', 'app.kubernetes.io/name': 'hubble-relay', 'app.kubernetes.io/part-of': 'cilium' };
    emit('hubble-relay/deployment.yaml', {
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: { name: 'hubble-relay', namespace: ns, labels: withCommon(labels) },
      spec: {
        replicas: Number(dig(v, 'hubble', 'relay', 'replicas') ?? 1),
        selector: { matchLabels: { 'k8s-app': 'hubble-relay' } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
        template: {
          metadata: { labels: withCommon(labels) },
          spec: {
            containers: [{ name: 'hubble-relay', image: img(dig(v, 'hubble', 'relay', 'image')), imagePullPolicy: 'IfNotPresent', command: ['hubble-relay'], args: ['serve'], ports: [{ name: 'grpc', containerPort: 4245 }] }],
            restartPolicy: 'Always', serviceAccountName: saName(v, 'relay'), automountServiceAccountToken: saAutomount(v, 'relay'), nodeSelector: { 'kubernetes.io/os': 'linux' },
          },
        },
      },
    });
  }
  if (ui) {
    const labels = { 'k8s-app': 'hubble-ui', 'app.kubernetes.io/name': 'hubble-ui', 'app.kubernetes.io/part-of': 'cilium' };
    emit('hubble-ui/deployment.yaml', {
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: { name: 'hubble-ui', namespace: ns, labels: withCommon(labels) },
      spec: {
        replicas: Number(dig(v, 'hubble', 'ui', 'replicas') ?? 1),
        selector: { matchLabels: { 'k8s-app': 'hubble-ui' } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
        template: {
          metadata: { labels: withCommon(labels) },
          spec: {
            containers: [
              { name: 'frontend', image: img(dig(v, 'hubble', 'ui', 'frontend', 'image')), imagePullPolicy: 'IfNotPresent', ports: [{ name: 'http', containerPort: 8081 }] },
              { name: 'backend', image: img(dig(v, 'hubble', 'ui', 'backend', 'image')), imagePullPolicy: 'IfNotPresent', ports: [{ name: 'grpc', containerPort: 8090 }] },
            ],
            restartPolicy: 'Always', serviceAccountName: saName(v, 'ui'), automountServiceAccountToken: saAutomount(v, 'ui'), nodeSelector: { 'kubernetes.io/os': 'linux' },
          },
        },
      },
    });
  }
  if (useAPIServer && configEnabled && kvMode === 'internal' && String(v.identityAllocationMode) === 'crd' && authMode !== 'legacy') {
    emit('clustermesh-apiserver/users-configmap.yaml', {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: 'clustermesh-remote-users', namespace: ns, ...(cmAnn ? { annotations: cmAnn } : {}), labels: withCommon({ 'app.kubernetes.io/part-of': 'cilium' }) },
      data: { 'users.yaml': `users:\n${clusters.map((cl) => `- name: remote-${cl.name}\n  role: remote\n`).join('')}` },
    });
  }
  if (useAPIServer) {
    const labels = { 'k8s-app': 'clustermesh-apiserver', 'app.kubernetes.io/part-of': 'cilium', 'app.kubernetes.io/name': 'clustermesh-apiserver' };
    const image = img(dig(v, 'clustermesh', 'apiserver', 'image'));
    const clusterEnv = [
      { name: 'CLUSTER_NAME', valueFrom: { configMapKeyRef: { name: 'cilium-config', key: 'cluster-name' } } },
      { name: 'CLUSTER_ID', valueFrom: { configMapKeyRef: { name: 'cilium-config', key: 'cluster-id', optional: true } } },
    ];
    const containers = [
      { name: 'etcd', image, imagePullPolicy: 'IfNotPresent', command: ['/usr/bin/etcd'], ports: [{ name: 'etcd', containerPort: 2379, protocol: 'TCP' }] },
      { name: 'apiserver', image, imagePullPolicy: 'IfNotPresent', command: ['/usr/bin/clustermesh-apiserver'], args: ['clustermesh', '--cluster-name=$(CLUSTER_NAME)', '--cluster-id=$(CLUSTER_ID)'], env: [...clusterEnv, ...k8sEnv] },
    ];
    if (truthy(dig(v, 'clustermesh', 'apiserver', 'kvstoremesh', 'enabled'))) {
      containers.push({ name: 'kvstoremesh', image, imagePullPolicy: 'IfNotPresent', command: ['/usr/bin/clustermesh-apiserver'], args: ['kvstoremesh', '--cluster-name=$(CLUSTER_NAME)', '--cluster-id=$(CLUSTER_ID)'], env: clusterEnv });
    }
    /** @type {Record<string, any>} */
    const podSpec = {
      initContainers: [{ name: 'etcd-init', image, imagePullPolicy: 'IfNotPresent', command: ['/usr/bin/clustermesh-apiserver', 'etcdinit'], env: clusterEnv }],
      containers,
      restartPolicy: 'Always', priorityClassName: 'system-cluster-critical', serviceAccountName: saName(v, 'clustermeshApiserver'),
      terminationGracePeriodSeconds: 30, automountServiceAccountToken: saAutomount(v, 'clustermeshApiserver'), nodeSelector: { 'kubernetes.io/os': 'linux' },
    };
    // The volumes of chart 1.19's Deployment: a kubelet starts no container
    // until the Secrets (certgen's or the tls-helm ones) and the users ConfigMap exist.
    if (kvMode === 'internal') {
      const tls = [{ key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }, { key: 'ca.crt', path: 'ca.crt' }];
      podSpec.volumes = [
        { name: 'etcd-server-secrets', projected: { defaultMode: 0o400, sources: [{ secret: { name: 'clustermesh-apiserver-server-cert', items: tls } }] } },
        { name: 'etcd-admin-client', projected: { defaultMode: 0o400, sources: [{ secret: { name: 'clustermesh-apiserver-admin-cert', items: tls } }] } },
        ...(authMode !== 'legacy' ? [{ name: 'etcd-users-config', configMap: { name: 'clustermesh-remote-users', defaultMode: 0o400 } }] : []),
        { name: 'etcd-data-dir', emptyDir: {} },
      ];
    }
    if (kvstoremesh) {
      (podSpec.volumes ??= []).push({
        name: 'kvstoremesh-secrets',
        projected: {
          defaultMode: 0o400,
          sources: [
            { secret: { name: 'cilium-kvstoremesh', optional: true } },
            { secret: { name: 'clustermesh-apiserver-remote-cert', optional: true, items: [
              { key: 'tls.key', path: 'common-etcd-client.key' }, { key: 'tls.crt', path: 'common-etcd-client.crt' }, { key: 'ca.crt', path: 'common-etcd-client-ca.crt' },
            ] } },
          ],
        },
      });
    }
    if (configEnabled && kvstoremesh) {
      podSpec.hostAliases = clusters.flatMap((cl) => (cl.ips ?? []).map((ip) => ({ ip, hostnames: [`${cl.name}.${dig(v, 'clustermesh', 'config', 'domain')}`] })));
    }
    const podAnn = dig(v, 'clustermesh', 'apiserver', 'podAnnotations');
    emit('clustermesh-apiserver/deployment.yaml', {
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: { name: 'clustermesh-apiserver', namespace: ns, labels: withCommon(labels) },
      spec: {
        replicas: Number(dig(v, 'clustermesh', 'apiserver', 'replicas') ?? 1),
        selector: { matchLabels: { 'k8s-app': 'clustermesh-apiserver' } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: {
          metadata: { labels: withCommon(labels), ...(isTable(podAnn) && Object.keys(podAnn).length ? { annotations: podAnn } : {}) },
          spec: podSpec,
        },
      },
    });
  }
  return out;
}

/** Helm's install order of kinds (releaseutil.InstallOrder, the part used here). */
const INSTALL_ORDER = ['Namespace', 'ServiceAccount', 'Secret', 'ConfigMap', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding',
  'Service', 'DaemonSet', 'Pod', 'Deployment', 'Job', 'CronJob'];

/**
 * Sorted for install: by kind, then by template path (Helm sorts the rendered files by
 * name before it sorts by kind), documents of one template in their order.
 * @param {Rendered[]} list
 */
export function installOrder(list) {
  const rank = (/** @type {string} */ k) => { const i = INSTALL_ORDER.indexOf(k); return i < 0 ? INSTALL_ORDER.length : i; };
  const byPath = (/** @type {string} */ a, /** @type {string} */ b) => (a < b ? -1 : a > b ? 1 : 0);
  return list.map((r, i) => ({ r, i }))
    .sort((a, b) => rank(a.r.obj.kind) - rank(b.r.obj.kind) || byPath(a.r.source, b.r.source) || a.i - b.i).map((x) => x.r);
}

/**
 * The release manifest text (what `helm get manifest` prints).
 * @param {Rendered[]} list
 */
export async function manifestText(list) {
  const Y = await import('yaml');
  return list.map((r) => `---\n# Source: ${r.source}\n${Y.stringify(r.obj, { lineWidth: 0 })}`).join('');
}

/**
 * Parses a release manifest back into objects.
 * @param {string} text
 * @returns {Promise<KubeObject[]>}
 */
export async function parseManifest(text) {
  if (!text || !text.trim()) return [];
  const Y = await import('yaml');
  return Y.parseAllDocuments(text).map((d) => d.toJS()).filter((o) => o && o.kind && o.metadata);
}
