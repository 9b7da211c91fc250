#!/usr/bin/env node
// @ts-check
/**
 * Step 00 — Merge the two K3s kubeconfigs into one, one context per cluster
 *
 * The article starts with `KUBECONFIG=cluster-a.yaml:cluster-b.yaml kubectl
 * config view --flatten > ~/.kube/config`. Every K3s kubeconfig calls its
 * context, cluster and user "default" and points at https://127.0.0.1:6443, so
 * that merge silently keeps only the first cluster. This step takes the two files
 * as they come off the servers (CLUSTER_A_K3S_KUBECONFIG, CLUSTER_B_K3S_KUBECONFIG),
 * renames context, cluster and user to CLUSTER_A_CONTEXT / CLUSTER_B_CONTEXT,
 * points each server at https://CLUSTER_X_API_HOST:CLUSTER_X_API_PORT (or
 * CLUSTER_X_KUBECONFIG_SERVER), and merges both into KUBECONFIG's first file with
 * `kubectl config view --flatten`, keeping that file's other contexts and its
 * current-context, and a backup of it (<file>.bak-<UTC time>, mode 0600).
 *
 * It refuses, changing nothing, when both files come from one cluster, or when
 * the kubeconfig already holds another cluster, context or user under one of the
 * names. A second run writes nothing. The files hold client keys: they are never
 * printed, and the renamed copies live in a private temp folder removed at once.
 * Only local files are read and written; no cluster is contacted.
 *
 * Runs only when both K3s kubeconfigs are set; `npm run all` then starts with it.
 *
 * You should see: `kubectl config get-contexts` listing both contexts.
 */
import { defineStep, runIfMain } from './lib/step.mjs';
import { mergeKubeconfigs } from './lib/kubeconfig-merge.mjs';

export const step = defineStep({
  id: '00',
  name: '00-kubeconfig',
  title: 'Merge the K3s kubeconfigs, one context per cluster',
  file: import.meta.url,
  actions: (config) => [mergeKubeconfigs(config)],
});

await runIfMain(step);
