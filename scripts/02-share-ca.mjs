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
 * The Secret holds the CA's private key. It is copied through memory only: read
 * from A, server fields (resourceVersion, uid, creationTimestamp) dropped, Helm's
 * ownership labels kept, piped into `kubectl create` on B. Never a file on disk,
 * never printed. (The article's `sed '/uid/d'` would also delete any data line
 * that happens to contain "uid".)
 *
 * You should see: B holding the same cilium-ca as A.
 */
import { defineStep, runIfMain } from './lib/step.mjs';
import { shareCa } from './lib/share-ca.mjs';

export const step = defineStep({
  id: '02',
  name: '02-share-ca',
  title: "Share cluster A's Cilium CA with cluster B",
  file: import.meta.url,
  actions: (config) => [shareCa(config)],
});

await runIfMain(step);
