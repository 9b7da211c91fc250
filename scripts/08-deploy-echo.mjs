#!/usr/bin/env node
// @ts-check
/**
 * Step 08 — Deploy echo with a global Service
 *
 * The same Deployment runs in both clusters, each with its own image tag, so the
 * page tells which cluster answered. Next to it, a Service of the same name and
 * namespace in both clusters:
 *
 *   - service.cilium.io/global: "true" shares its endpoints across the mesh;
 *   - service.cilium.io/affinity (ECHO_AFFINITY): local prefers this cluster's
 *     pods and uses the other cluster's only when none is ready; remote the other
 *     way round; empty leaves it out, to spread over both — never "none", which
 *     drops remote backends;
 *   - label lb-pool: app takes the IP from the app pool (step 05);
 *   - loadBalancerClass io.cilium/l2-announcer has Cilium announce it with ARP.
 *
 * The article applies the Service without a namespace (it lands in "default",
 * away from its pods) and writes `--contect`; here both go to the echo
 * namespace with the right flags.
 *
 * Echo is deployed on both clusters before either VIP is asked: with affinity
 * remote, A's VIP answers with B's page, which needs B's pods.
 *
 * You should see: each cluster's VIP answering with its own page (with remote
 * affinity, with the other cluster's page; with none, with either). On the twin:
 *
 *   ✔ ok      cluster-a's echo VIP answers with "Cluster A" — 127.4.254.230 → Cluster A
 *   ✔ ok      cluster-b's echo VIP answers with "Cluster B" — 127.4.254.240 → Cluster B
 */
import { defineStep, runIfMain } from './lib/step.mjs';
import { kubectl } from './lib/commands.mjs';
import { code, eachCluster } from './lib/plan.mjs';
import { bashOf } from './lib/bash-text.mjs';
import { manifest, APP_POOL } from './lib/manifests.mjs';
import { echoApplied, vipAnswers, vipAnswered, withAffinityNote } from './lib/echo.mjs';
import { curl, bashPoll, expectedPages } from './lib/http.mjs';
import { poolOnBoth } from './lib/prerequisites.mjs';

/** @typedef {import('./lib/types.js').Config} Config */
/** @typedef {import('./lib/types.js').ClusterConfig} ClusterConfig */

/**
 * What step 08 applies on a cluster: manifests/echo-namespace.yaml,
 * echo-deployment.yaml (with this cluster's image) and echo-service.yaml, with
 * a comment above the Service saying what its affinity does.
 * @param {Config} config @param {ClusterConfig} c
 */
export function echoApp(config, c) {
  const { namespace, name, replicas, servicePort: port, targetPort, affinity } = config.echo;
  return withAffinityNote(manifest(`echo-${c.context}.yaml`, {
    'echo-namespace.yaml': { namespace },
    'echo-deployment.yaml': { namespace, name, replicas, targetPort, image: c.echoImage },
    'echo-service.yaml': { namespace, name, port, targetPort, affinity: affinity === '' ? undefined : affinity },
  }), affinity);
}

export const step = defineStep({
  id: '08',
  name: '08-deploy-echo',
  title: 'Deploy echo with a global Service',
  file: import.meta.url,
  ready: poolOnBoth(APP_POOL, '05'),
  actions: (config) => {
    const { timeouts } = config;
    const { namespace: ns, name, servicePort: port } = config.echo;
    // A VIP is asked as with curl: a new connection each time, a timeout, no retries.
    const ask = (/** @type {string} */ ip) => curl`-s --max-time ${timeouts.http} http://${ip}${port === 80 ? '' : `:${port}`}/`;
    // Waiting for a VIP's page (the run and the bash alike): a request every 250 ms until one answers as it should.
    const poll = { every: 0.25, inARow: 1, timeout: timeouts.resources };
    return [
      // Both clusters at once.
      eachCluster(config.clusters, (c) => {
        const app = echoApp(config, c);
        return [{
          title: `Echo app (${c.echoImage}) and global Service ${ns}/${name} on ${c.context}`,
          // Done when the namespace, Deployment and Service hold every field the manifest sets
          // (as kubectl apply leaves them) and the Service has its LoadBalancer IP.
          check: (rt) => echoApplied(rt, config, c, app),
          // You should see: namespace/echo created
          //                 deployment.apps/echo created
          //                 service/echo created
          run: [kubectl`--context ${c.context} apply -f -`.withStdin(app)],
          verify: [
            // You should see: deployment "echo" successfully rolled out
            kubectl`--context ${c.context} rollout status -n ${ns} deployment/${name} --timeout=${timeouts.rollout}s`
              .waitsFor(`deployment/${name} on ${c.context}`, timeouts.rollout),
            // LB-IPAM gives the Service an IP of app-pool (step 05).
            // You should see: service/echo condition met
            kubectl`--context ${c.context} wait -n ${ns} --for=jsonpath={.status.loadBalancer.ingress[0].ip} svc/${name} --timeout=${timeouts.resources}s`
              .waitsFor(`a LoadBalancer IP for ${name} on ${c.context}`, timeouts.resources),
          ],
        }];
      }),
      // Then both VIPs at once: with affinity remote a VIP answers from the other cluster's pods.
      eachCluster(config.clusters, (c) => {
        const pages = expectedPages(config, c);
        const getIp = kubectl`--context ${c.context} get svc -n ${ns} ${name} -o jsonpath={.status.loadBalancer.ingress[0].ip}`.readOnly();
        return [{
          title: `${c.context}'s echo VIP answers with ${pages.map((p) => `"${p}"`).join(' or ')}`,
          // Done when one request to the VIP shows the page its affinity asks for.
          check: (rt) => vipAnswers(rt, config, c, pages, ask),
          // You should see (cluster-a's VIP, affinity local): Cluster A
          verify: [code([`ip=$(${bashOf(getIp)})`, ...bashPoll(ask('$ip'), pages, poll)],
            (rt, check) => vipAnswered(rt, config, c, check, { getIp, ask, pages, poll }))],
          statusLabel: `${c.context}'s echo VIP`,
        }];
      }),
    ];
  },
});

await runIfMain(step);
