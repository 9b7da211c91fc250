#!/usr/bin/env node
// @ts-check
/**
 * Step 02 — Share cluster A's Cilium CA with cluster B
 *
 * Cilium signs its certificates (Hubble, ClusterMesh) with the CA in Secret
 * kube-system/cilium-ca. Meshed clusters must trust one CA; with two, the CLI
 * refuses to connect them ("Cilium CA certificates do not match between
 * clusters"). So before Cilium is installed on B, we copy A's CA there; the
 * chart on B finds the Secret and uses it instead of making a new one.
 *
 * The Secret holds the CA's private key. It is copied through a pipe only: read
 * from A, server fields (resourceVersion, uid, creationTimestamp) dropped, Helm's
 * ownership labels kept, into `kubectl create` on B. Never a file on disk,
 * never printed. (The article's `sed '/uid/d'` would also delete any data line
 * that happens to contain "uid".) `create`, not `apply`: apply would copy the
 * whole Secret, key included, into its last-applied-configuration annotation.
 *
 * You should see: B holding the same cilium-ca as A.
 */
import { defineStep, runIfMain } from './lib/step.mjs';
import { kubectl } from './lib/commands.mjs';
import { code } from './lib/plan.mjs';
import { bashOf } from './lib/bash-text.mjs';
import { caShared, copyCa, caCopied, DROP_SERVER_FIELDS } from './lib/share-ca.mjs';

export const step = defineStep({
  id: '02',
  name: '02-share-ca',
  title: "Share cluster A's Cilium CA with cluster B",
  file: import.meta.url,
  actions: (config) => {
    const { a, b } = config;
    // A's Secret as kubectl prints it. It holds the key: its output is never shown.
    const get = kubectl`--context ${a.context} get secret -n kube-system cilium-ca -o yaml`.readOnly().holdsSecret();
    // B's copy, from stdin.
    const create = kubectl`--context ${b.context} create -f -`.holdsSecret();
    return [{
      title: `Copy Secret kube-system/cilium-ca from ${a.context} to ${b.context}`,
      // Done when B holds A's cilium-ca (the same ca.crt and ca.key). Refused, changing
      // nothing, while A has none (run step 01) or when B already holds another CA.
      check: (rt) => caShared(rt, config),
      // One pipe: A's Secret, its server fields' lines deleted (DROP_SERVER_FIELDS, an
      // anchored sed), into create on B. The run does exactly this in memory: get's
      // output, the same lines deleted, on create's stdin.
      // You should see: secret/cilium-ca created (and from the run: "✚ changed Copy Secret
      // kube-system/cilium-ca from cluster-a to cluster-b — copied in memory; cluster-b now trusts cluster-a's CA").
      run: [code([
        '# The Secret holds the CA key: pipe it, never save it to a file.',
        `${bashOf(get)} \\\n  | ${DROP_SERVER_FIELDS} \\\n  | ${bashOf(create)}`,
      ], (rt) => copyCa(rt, config, get, create))],
      // B's copy is A's CA: compared in memory, as the check compares (no command prints the key).
      verify: [code([], (rt) => caCopied(rt, config))],
    }];
  },
});

await runIfMain(step);
