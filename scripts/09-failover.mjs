#!/usr/bin/env node
// @ts-check
/**
 * Step 09 — Failover from B to A
 *
 * Scale cluster B's echo Deployment to zero and keep asking the VIP whose
 * answers come from B's pods; the drill first checks that they do, so that A's
 * page afterwards means a failover and not the usual answer.
 *
 *   - affinity local (the default) or none: B's VIP. With local, Cilium on B has
 *     no local endpoint left and sends the requests to cluster A's pods through
 *     the mesh: B's VIP answers with cluster A's page.
 *   - affinity remote: B's VIP answers from A's pods all along, so scaling B
 *     proves nothing there. A's VIP answers from B's pods instead; with B's gone,
 *     Cilium on A falls back to its own pods: A's VIP answers with A's page.
 *
 * The step reports how long that took and how many requests failed meanwhile,
 * then scales B back and checks that the VIP answers from B again.
 *
 * B is restored also when the drill fails or is interrupted (Ctrl-C), unless
 * --keep-down is given. A passed drill is recorded on B's Deployment (annotation
 * clustermesh-runbook.io/failover-drill); run with --again to repeat it.
 *
 * The VIP is asked every 200 ms; three answers in a row from a page count.
 *
 * Every request the run makes, from before the scale-down until B answers
 * again, is recorded (time, answering cluster, status, latency): the step
 * prints it as a timeline (↓ scale-down, ↑ restore, × failed requests) and
 * saves it as <UTC time>.json and an SVG chart, <UTC time>.svg, in
 * .runbook/failover (RUNBOOK_FAILOVER_DIR puts them elsewhere); also with
 * --keep-down and when the drill fails.
 *
 * You should see: B's VIP answering from cluster A soon after the scale-down
 * (with remote affinity: A's VIP). On the twin:
 *
 *   $ kubectl --context cluster-b scale -n echo deployment/echo --replicas=0
 *     cluster-a answered on cluster-b's VIP 0.18s after scale-down, 0 failed requests
 *   …
 *     BBBBBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBBBB
 *     ↓────────────────────┬─↑──────────────────┬─────────────────
 *     0.0 s                0.5 s                1.0 s
 *     ↓ scale-down at 0.01 s · ↑ restore at 0.57 s · × 0 of 7 requests failed
 *     the drill as a picture: .runbook/failover/2026-12-04T18-46-15Z.svg (its requests: …)
 */
import { defineStep, runIfMain } from './lib/step.mjs';
import { kubectl } from './lib/commands.mjs';
import { code } from './lib/plan.mjs';
import { bashOf } from './lib/bash-text.mjs';
import { curl, bashPoll, expectedPages, dq } from './lib/http.mjs';
import { drillState, failoverDrill, DRILL_ANNOTATION } from './lib/failover.mjs';

export const step = defineStep({
  id: '09',
  name: '09-failover',
  title: 'Failover from B to A',
  file: import.meta.url,
  tools: ['cilium'],
  options: [
    { flag: 'keep-down', help: "leave B's echo scaled to 0 after the drill" },
    { flag: 'again', help: 'repeat the drill even if it passed before' },
  ],
  actions: (config, opts) => {
    const { a, b, timeouts } = config;
    const { namespace: ns, name, replicas, servicePort: port } = config.echo;
    const keepDown = opts.flags.has('keep-down');
    // The VIP whose answers come from B's pods: B's own, or with affinity remote A's.
    const w = config.echo.affinity === 'remote' ? a : b;
    const before = expectedPages(config, w);

    // The drill's poll, for the run and the bash alike: a request every 200 ms;
    // three answers in a row from the awaited page count (one, for the first look).
    const poll = { every: 0.2, inARow: 3, timeout: timeouts.failover };
    const ask = (/** @type {string} */ ip) => curl`-s --max-time ${timeouts.http} http://${ip}${port === 80 ? '' : `:${port}`}/`;
    const getIp = kubectl`--context ${w.context} get svc -n ${ns} ${name} -o jsonpath={.status.loadBalancer.ingress[0].ip}`.readOnly();
    const scale = (/** @type {number} */ n) => kubectl`--context ${b.context} scale -n ${ns} deployment/${name} --replicas=${n}`;
    const rollout = kubectl`--context ${b.context} rollout status -n ${ns} deployment/${name} --timeout=${timeouts.rollout}s`
      .waitsFor(`deployment/${name} on ${b.context}`, timeouts.rollout);
    const record = (/** @type {string} */ text) => kubectl`--context ${b.context} annotate -n ${ns} deployment/${name} --overwrite ${DRILL_ANNOTATION}=${text}`;

    return [{
      title: `Failover: ${w.context}'s echo VIP keeps answering, from ${a.context}, while ${b.context} has no echo pods`,
      // Done when B's Deployment carries a passed drill's record and its replicas (--again repeats it).
      // Blocked until echo has its VIPs (step 08) and B is connected to A (step 07).
      check: (rt) => drillState(rt, config, w, opts.flags.has('again')),
      // The run does these in this order, and restores B when the drill fails or is interrupted.
      run: [code([
        `ip=$(${bashOf(getIp)})`,
        `# ${w.context}'s VIP answers from ${b.context}'s pods first`,
        ...bashPoll(ask('$ip'), before, { ...poll, inARow: 1 }),
        't0=$(date +%s%N)   # the clock runs from the scale command',
        bashOf(scale(0)),
        `# ${w.context}'s VIP should now answer from ${a.context}`,
        ...bashPoll(ask('$ip'), [a.echoPage], poll, { timed: true }),
        'ms=$(( (since - t0) / 1000000 ))',
        `result="${dq(`${a.context} answered on ${w.context}'s VIP `)}$((ms / 1000)).$(printf %02d $((ms % 1000 / 10)))s after scale-down, $failed failed requests"`,
        // You should see:   cluster-a answered on cluster-b's VIP 0.39s after scale-down, 0 failed requests
        'echo "  $result"',
        ...(keepDown ? [`# --keep-down: ${b.context} stays at 0 replicas. Restore with: ${bashOf(scale(replicas))}`] : [
          bashOf(scale(replicas)),
          bashOf(rollout),
          `# ${w.context}'s VIP answers from ${b.context}'s pods again`,
          ...bashPoll(ask('$ip'), before, poll),
          `${bashOf(record('passed '))}"$(date -u +%Y-%m-%dT%H:%M:%SZ): $result"`,
        ]),
      ], (rt, check) => failoverDrill(rt, check, { watched: w, before, ask, poll, scale, rollout, record, keepDown }))],
    }];
  },
});

await runIfMain(step);
