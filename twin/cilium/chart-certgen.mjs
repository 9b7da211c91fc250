// @ts-check
// The chart's templates/clustermesh-apiserver/tls-cronjob/ (tls.auto.method=cronJob,
// what `cilium clustermesh enable` sets): the certgen Job, its CronJob, and the
// ServiceAccount, Role and RoleBinding it runs with; names, labels, args and the
// CILIUM_CERTGEN_CONFIG of chart 1.19. The Job's name ends in a hash of its spec,
// so that a changed spec makes a new Job (Job specs are immutable); the real chart
// hashes the template text, the twin the spec's JSON: the suffix differs.
// The twin's Job controller runs the Job and does certgen's work (twin/controllers/certgen.mjs).
import { createHash } from 'node:crypto';
import { dig, table, truthy } from './values.mjs';
import { saAutomount, saCreate, saName, serviceAccount } from './chart-rbac.mjs';

/** @typedef {import('./values.mjs').Values} Values */
/** @typedef {import('../store/types.js').KubeObject} KubeObject */

const NAME = 'clustermesh-apiserver-generate-certs';
const DIR = 'clustermesh-apiserver/tls-cronjob';
const IMAGE = 'quay.io/cilium/certgen:v0.4.5';

/**
 * The certgen Job spec (_job-spec.tpl).
 * @param {Values} v @param {string} ns
 */
function jobSpec(v, ns) {
  const tls = dig(v, 'clustermesh', 'apiserver', 'tls') ?? {};
  const validity = `${Math.trunc(Number(dig(tls, 'auto', 'certValidityDuration') ?? 1095)) * 24}h`;
  const cluster = String(dig(v, 'cluster', 'name'));
  const remoteCn = dig(tls, 'authMode') === 'cluster' ? `remote-${cluster}` : 'remote';
  const q = (/** @type {unknown} */ s) => JSON.stringify(String(s));
  const extraDns = Array.isArray(dig(tls, 'server', 'extraDnsNames')) ? dig(tls, 'server', 'extraDnsNames') : [];
  const extraIps = Array.isArray(dig(tls, 'server', 'extraIpAddresses')) ? dig(tls, 'server', 'extraIpAddresses') : [];
  /** @param {string} name @param {string} cn @param {string[]} usage @param {string[]} [hosts] */
  const cert = (name, cn, usage, hosts) => [
    `- name: ${name}`, `  namespace: ${ns}`, `  commonName: ${q(cn)}`,
    ...(hosts ? ['  hosts:', ...hosts.map((h) => `  - ${h}`)] : []),
    '  usage:', ...usage.map((u) => `  - ${u}`), `  validity: ${validity}`,
  ];
  const config = ['certs:',
    ...cert('clustermesh-apiserver-server-cert', 'clustermesh-apiserver.cilium.io', ['signing', 'key encipherment', 'server auth'],
      [q('clustermesh-apiserver.cilium.io'), q('*.mesh.cilium.io'), q(`clustermesh-apiserver.${ns}.svc`), ...extraDns.map(q), q('127.0.0.1'), q('::1'), ...extraIps.map(q)]),
    ...cert('clustermesh-apiserver-admin-cert', `admin-${cluster}`, ['signing', 'key encipherment', 'client auth']),
    ...cert('clustermesh-apiserver-remote-cert', remoteCn, ['signing', 'key encipherment', 'client auth']),
    ...(truthy(dig(v, 'clustermesh', 'apiserver', 'kvstoremesh', 'enabled'))
      ? cert('clustermesh-apiserver-local-cert', `local-${cluster}`, ['signing', 'key encipherment', 'client auth']) : []),
  ].join('\n') + '\n';
  const generateCA = dig(v, 'certgen', 'generateCA') ?? true;
  /** @type {Record<string, any>} */
  const spec = {
    template: {
      metadata: { labels: { 'k8s-app': NAME, ...table(dig(v, 'clustermesh', 'apiserver', 'podLabels')) } },
      spec: {
        securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{
          name: 'certgen', image: IMAGE, imagePullPolicy: 'IfNotPresent',
          securityContext: { capabilities: { drop: ['ALL'] }, allowPrivilegeEscalation: false },
          command: ['/usr/bin/cilium-certgen'],
          args: [...(truthy(dig(v, 'debug', 'enabled')) ? ['--debug'] : []), `--ca-generate=${generateCA}`, '--ca-reuse-secret',
            `--ca-secret-namespace=${ns}`, '--ca-secret-name=cilium-ca', '--ca-common-name=Cilium CA'],
          env: [{ name: 'CILIUM_CERTGEN_CONFIG', value: config }],
        }],
        hostNetwork: false,
        serviceAccountName: saName(v, 'clustermeshcertgen'),
        automountServiceAccountToken: saAutomount(v, 'clustermeshcertgen'),
        restartPolicy: 'OnFailure',
      },
    },
  };
  const ttl = dig(v, 'certgen', 'ttlSecondsAfterFinished');
  if (truthy(ttl)) spec.ttlSecondsAfterFinished = ttl;
  return spec;
}

/**
 * The objects of templates/clustermesh-apiserver/tls-cronjob/, with their template paths.
 * @param {Values} v @param {string} ns @param {Record<string, string>} common commonLabels
 * @returns {Array<{ source: string, obj: KubeObject }>}
 */
export function renderCertgen(v, ns, common) {
  const auto = dig(v, 'clustermesh', 'apiserver', 'tls', 'auto') ?? {};
  if (!truthy(dig(v, 'clustermesh', 'useAPIServer')) || !truthy(auto.enabled) || auto.method !== 'cronJob') return [];
  const cmAnn = table(dig(v, 'clustermesh', 'annotations'));
  const ann = Object.keys(cmAnn).length ? { annotations: cmAnn } : {};
  const sa = saName(v, 'clustermeshcertgen');
  const spec = jobSpec(v, ns);
  /** @type {Array<{ source: string, obj: KubeObject }>} */
  const out = [];
  if (truthy(auto.schedule)) {
    out.push({
      source: `${DIR}/cronjob.yaml`,
      obj: {
        apiVersion: 'batch/v1', kind: 'CronJob',
        metadata: { name: NAME, namespace: ns, ...ann, labels: { 'k8s-app': NAME, 'app.kubernetes.io/part-of': 'cilium', ...common } },
        spec: {
          schedule: String(auto.schedule),
          successfulJobsHistoryLimit: dig(v, 'certgen', 'cronJob', 'successfulJobsHistoryLimit') ?? 3,
          failedJobsHistoryLimit: dig(v, 'certgen', 'cronJob', 'failedJobsHistoryLimit') ?? 1,
          concurrencyPolicy: 'Forbid',
          jobTemplate: structuredClone({ spec }),
        },
      },
    });
  }
  if (dig(v, 'clustermesh', 'apiserver', 'kvstoremesh', 'kvstoreMode') === 'internal') {
    const sum = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 10);
    const jobAnn = { ...table(dig(v, 'certgen', 'annotations', 'job')), ...cmAnn };
    out.push({
      source: `${DIR}/job.yaml`,
      obj: {
        apiVersion: 'batch/v1', kind: 'Job',
        metadata: {
          name: `${NAME}-${sum}`, namespace: ns, labels: { 'k8s-app': NAME, ...common, 'app.kubernetes.io/part-of': 'cilium' },
          ...(Object.keys(jobAnn).length ? { annotations: jobAnn } : {}),
        },
        spec,
      },
    });
  }
  if (saCreate(v, 'clustermeshcertgen')) {
    const labels = { 'app.kubernetes.io/part-of': 'cilium', ...common };
    out.push({
      source: `${DIR}/role.yaml`,
      obj: {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: NAME, namespace: ns, ...ann, labels },
        rules: [
          { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
          { apiGroups: [''], resources: ['secrets'], resourceNames: ['cilium-ca'], verbs: ['get', 'update'] },
          {
            apiGroups: [''], resources: ['secrets'], verbs: ['update'],
            resourceNames: ['clustermesh-apiserver-server-cert', 'clustermesh-apiserver-admin-cert', 'clustermesh-apiserver-remote-cert', 'clustermesh-apiserver-local-cert'],
          },
        ],
      },
    }, {
      source: `${DIR}/rolebinding.yaml`,
      obj: {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: NAME, namespace: ns, ...ann, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: NAME },
        subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
      },
    }, {
      source: `${DIR}/serviceaccount.yaml`,
      obj: serviceAccount(v, 'clustermeshcertgen', ns, common, cmAnn),
    });
  }
  return out;
}
