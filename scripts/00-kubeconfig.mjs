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
import { code } from './lib/plan.mjs';
import { shellQuote } from './lib/bash-text.mjs';
import { targetOf, kubeconfigMerged, writeMerged, mergedHolds } from './lib/kubeconfig-merge.mjs';

/** @typedef {import('./lib/types.js').Config} Config */

export const step = defineStep({
  id: '00',
  name: '00-kubeconfig',
  title: 'Merge the K3s kubeconfigs, one context per cluster',
  file: import.meta.url,
  actions: (config) => {
    const target = targetOf(config);
    const [a, b] = config.clusters.map((c) => c.context);
    return [{
      title: `Merge the K3s kubeconfigs of clusters A and B into ${target} as ${a} and ${b}`,
      // Done when the target already holds what the merge below makes, readable by its owner
      // only. Refused, changing nothing: both files from one cluster, or the target holding
      // another cluster, context or user under one of the names.
      check: (rt) => kubeconfigMerged(rt, config),
      // Local files only, no cluster: kubectl reads and merges, the runbook renames in memory
      // and writes the result only when a byte differs. This bash does the same and runs as printed.
      run: [code(mergeInBash(config), (rt, check) => writeMerged(rt, config, check))],
      // You should see:
      //   CURRENT   NAME        CLUSTER     AUTHINFO    NAMESPACE
      //   *         cluster-a   cluster-a   cluster-a
      //             cluster-b   cluster-b   cluster-b
      verify: [code([`kubectl config get-contexts ${a} ${b}`], () => mergedHolds(config))],
    }];
  },
});

/**
 * Step 00 in bash: the same reads, refusals and write as its check and run,
 * with kubectl, sed and cmp. The files hold client keys: the copies live in a
 * mktemp folder removed on exit, and nothing is printed.
 * @param {Config} config
 * @returns {string[]}
 */
function mergeInBash(config) {
  const k3s = config.k3s;
  if (!k3s) return ['# CLUSTER_A_K3S_KUBECONFIG and CLUSTER_B_K3S_KUBECONFIG are not set: nothing to merge'];
  /** @param {string} s */
  const sedWord = (s) => s.replaceAll('.', '\\.');
  const lines = [
    '(',
    '  umask 077   # the files hold client keys',
    '  tmp=$(mktemp -d)',
    '  trap \'rm -rf "$tmp"\' EXIT',
    `  target=${shellQuote(targetOf(config))}`,
  ];
  // Each cluster's file, renamed: kubectl renames the context; the cluster and user by sed.
  for (const c of config.clusters) {
    const input = k3s[c.key];
    const n = c.context;
    const one = `"$tmp/k3s-${c.key}.yaml"`;
    const renamed = `"$tmp/new-${n}.yaml"`;
    lines.push(
      `  # cluster ${c.label}: context, cluster and user ${input.context === input.cluster && input.cluster === input.user ? `"${input.context}"` : `"${input.context}", "${input.cluster}", "${input.user}"`} become "${n}"; server ${input.server} becomes ${c.server}`,
      `  kubectl --kubeconfig ${shellQuote(input.file)} config view --flatten --minify --context ${shellQuote(input.context)} > ${one}`,
    );
    if (input.context !== n) lines.push(`  kubectl --kubeconfig ${one} config rename-context ${shellQuote(input.context)} ${shellQuote(n)}`);
    lines.push(
      `  sed -e 's/^  name: ${sedWord(input.cluster)}$/  name: ${n}/' -e 's/^    cluster: ${sedWord(input.cluster)}$/    cluster: ${n}/' \\`,
      `      -e 's/^- name: ${sedWord(input.user)}$/- name: ${n}/' -e 's/^    user: ${sedWord(input.user)}$/    user: ${n}/' ${one} > ${renamed}`,
      `  kubectl --kubeconfig ${renamed} config set-cluster ${shellQuote(n)} --server=${shellQuote(c.server)}`,
    );
  }
  const [a, b] = config.clusters.map((c) => c.context);
  const ca = "config view --raw -o 'jsonpath={.clusters[0].cluster.certificate-authority-data}'";
  lines.push(
    '  # two files from one cluster would make one cluster of two contexts',
    `  if [ "$(kubectl --kubeconfig "$tmp/new-${a}.yaml" ${ca})" = "$(kubectl --kubeconfig "$tmp/new-${b}.yaml" ${ca})" ]; then`,
    `    echo "the two K3s kubeconfigs carry the same cluster CA: both come from one cluster; nothing was changed" >&2; exit 2`,
    '  fi',
    '  # merge: the target first, so its entries and its current-context win (a new file gets the first context)',
    `  KUBECONFIG="$target:$tmp/new-${a}.yaml:$tmp/new-${b}.yaml" kubectl config view --flatten > "$tmp/merged.yaml"`,
    '  # where the target already had an entry of one of the names, the merge kept it: then refuse',
    `  for n in ${a} ${b}; do`,
    '    q="{.clusters[?(@.name==\\"$n\\")].cluster.server} {.clusters[?(@.name==\\"$n\\")].cluster.certificate-authority-data}' +
      ' {.contexts[?(@.name==\\"$n\\")].context.cluster} {.contexts[?(@.name==\\"$n\\")].context.user} {.users[?(@.name==\\"$n\\")].user.client-certificate-data}"',
    '    if [ "$(kubectl --kubeconfig "$tmp/merged.yaml" config view --raw -o "jsonpath=$q")" != "$(kubectl --kubeconfig "$tmp/new-$n.yaml" config view --raw -o "jsonpath=$q")" ]; then',
    '      echo "$target already has another cluster, context or user named $n; nothing was changed. Remove it (kubectl --kubeconfig $target config delete-cluster|delete-context|delete-user $n) or choose another context name" >&2; exit 2',
    '    fi',
    '  done',
    '  # write only when a byte differs, keeping a backup of the old file',
    '  if ! cmp -s "$tmp/merged.yaml" "$target"; then',
    '    if [ -e "$target" ]; then cp "$target" "$target.bak-$(date -u +%Y%m%dT%H%M%SZ)"; fi',
    '    mkdir -p "$(dirname "$target")"',
    '    cat "$tmp/merged.yaml" > "$target"',
    '  fi',
    '  chmod 600 "$target"',
    ')',
  );
  return [lines.join('\n')];
}

await runIfMain(step);
