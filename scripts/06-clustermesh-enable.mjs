#!/usr/bin/env node
// @ts-check
/**
 * Step 06 — Enable ClusterMesh
 *
 * `cilium clustermesh enable` deploys the clustermesh-apiserver: an etcd that
 * holds this cluster's services, endpoints and identities for the other cluster
 * to read, with its TLS certificates. It is exposed by a Service of type
 * LoadBalancer (or NodePort); on K3s the CLI cannot guess which, so the type is
 * always given. LB-IPAM gives the Service the ClusterMesh IP of step 04.
 *
 * Until the clusters are connected (step 07) nothing reads from it; the article
 * shows its pod in Init meanwhile. This step waits until the Service has its IP
 * and `cilium clustermesh status` reports the apiserver ready.
 *
 * You should see: `kubectl get svc -n kube-system clustermesh-apiserver` with
 * the ClusterMesh IP as EXTERNAL-IP.
 */
import { defineStep, runIfMain } from './lib/step.mjs';
import { kubectl, cilium } from './lib/commands.mjs';
import { eachCluster } from './lib/plan.mjs';
import { meshEnabled, enableHint } from './lib/mesh.mjs';
import { step04OnBoth } from './lib/pools.mjs';

export const step = defineStep({
  id: '06',
  name: '06-clustermesh-enable',
  title: 'Enable ClusterMesh',
  file: import.meta.url,
  tools: ['cilium'],
  ready: step04OnBoth, // the mesh pool (with NodePort: the L2 policy) on both clusters
  actions: (config) => {
    const { meshServiceType: type, timeouts } = config;
    const lb = type === 'LoadBalancer';
    // Both clusters at once: each enable is a Helm upgrade of its own cluster.
    return [eachCluster(config.clusters, (c) => [{
      title: `Enable ClusterMesh on ${c.context} (clustermesh-apiserver, Service type ${type}${lb ? `, IP ${c.meshIp}` : ''})`,
      // Done when the clustermesh-apiserver is ready and, with LoadBalancer, has this cluster's ClusterMesh IP.
      check: (rt) => meshEnabled(rt, config, c),
      // The article's command, with the Service type always given (on K3s the CLI cannot guess it).
      run: [cilium`clustermesh enable --context ${c.context} --service-type ${type}`.helmOn(c)],
      verify: [
        // LB-IPAM gives the Service the IP of pool cluster-pool (step 04).
        ...(lb ? [kubectl`--context ${c.context} wait -n kube-system --for=jsonpath={.status.loadBalancer.ingress[0].ip}=${c.meshIp} svc/clustermesh-apiserver --timeout=${timeouts.resources}s`
          .waitsFor(`clustermesh-apiserver on ${c.context} to get ${c.meshIp}`, timeouts.resources)] : []),
        // You should see: ✅ Cluster access information is available (and the IP under it).
        cilium`clustermesh status --context ${c.context} --wait --wait-duration ${timeouts.mesh}s`
          .waitsFor(`clustermesh-apiserver on ${c.context}`, timeouts.mesh).readOnly(),
      ],
      hint: (rt) => enableHint(rt, config, c),
    }])];
  },
});

await runIfMain(step);
