// @ts-check
// The pods of the volume tests, for the twin (test/twin/pod-volumes.test.mjs)
// and the real backend (test/real/volumes.test.mjs): the same scenario on both.

/** Volumes: a Secret, a ConfigMap (through a projected volume) and the service-account CA, optional or not. @param {boolean} optional */
export const volumes = (optional) => [
  { name: 'tls', secret: { secretName: 'web-tls', ...(optional ? { optional: true } : {}) } },
  {
    name: 'conf',
    projected: {
      sources: [
        { configMap: { name: 'web-conf', ...(optional ? { optional: true } : {}) } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      ],
    },
  },
];

/**
 * A one-replica Deployment mounting `vols` in its container.
 * @param {string} name @param {any[]} vols @param {{ image: string, hostNetwork?: boolean }} pod
 */
export const deployment = (name, vols, pod) => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default' },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        ...(pod.hostNetwork ? { hostNetwork: true } : {}), volumes: vols,
        containers: [{ name: 'web', image: pod.image, volumeMounts: vols.map((v) => ({ name: v.name, mountPath: `/etc/${v.name}` })) }],
      },
    },
  },
});
