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
import { enableMesh } from './lib/mesh.mjs';
import { step04OnBoth } from './lib/pools.mjs';

export const step = defineStep({
  id: '06',
  name: '06-clustermesh-enable',
  title: 'Enable ClusterMesh',
  file: import.meta.url,
  tools: ['cilium'],
  ready: step04OnBoth, // the mesh pool (with NodePort: the L2 policy) on both clusters
  actions: (config) => config.clusters.map((c) => enableMesh(config, c)),
});

await runIfMain(step);
