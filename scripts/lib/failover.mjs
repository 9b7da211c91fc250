// @ts-check
// The failover drill (step 09): take cluster B's echo pods away and watch the VIP
// that answers from them (B's with affinity local or none, A's with remote) keep
// answering, now from cluster A's pods. B is restored afterwards, also when the
// drill fails or is interrupted (unless --keep-down).
// A passed drill is recorded as an annotation on B's Deployment, so a second run
// finds the step done and changes nothing; --again repeats it.
import { kubectl, duration, withOpts } from './commands.mjs';
import { getObjects, lbIp } from './probes.mjs';
import { meshStatus, connectedTo } from './mesh.mjs';
import { fetchPage, pageOf, expectedPages, curlLine, bashWaitForPage } from './http.mjs';
import { Runtime, sleep } from './runtime.mjs';
import { LB_IP_PATH } from './echo.mjs';
import { out } from './output.mjs';
import { bashOf, assignIp } from './shell.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./actions.js').Action} Action */

export const DRILL_ANNOTATION = 'clustermesh-runbook.io/failover-drill';
/** Consecutive answers from A that count as "failed over". */
const STABLE = 3;
const POLL_MS = 200;

/**
 * @param {Config} config
 * @param {Set<string>} flags
 * @returns {Action}
 */
export function failoverDrill(config, flags) {
  const { a, b } = config;
  // The VIP whose answers come from B's pods: B's own, or with affinity remote A's.
  const w = config.echo.affinity === 'remote' ? a : b;
  const before = expectedPages(config, w);
  const { namespace: ns, name, replicas, servicePort: port } = config.echo;
  const scale = (/** @type {number} */ n) => kubectl(b, 'scale', '-n', ns, `deployment/${name}`, `--replicas=${n}`);
  const rollout = withOpts(kubectl(b, 'rollout', 'status', '-n', ns, `deployment/${name}`, `--timeout=${duration(config.timeouts.rollout)}`),
    { wait: { what: `deployment/${name} on ${b.context}`, timeout: config.timeouts.rollout } });
  const timeout = config.timeouts.failover;

  /**
   * Polls B's VIP until `want` answers STABLE times in a row.
   * @param {Runtime} rt @param {string} ip @param {string[]} want
   * @param {number} [started] when the clock starts (performance.now())
   * @param {number} [stable] answers in a row that count
   */
  function until(rt, ip, want, started = performance.now(), stable = STABLE) {
    return rt.withWait(`${w.context}'s VIP ${ip} to answer with ${want.join(' or ')}`, timeout, () => poll(rt, ip, want, started, stable));
  }

  /** @param {Runtime} rt @param {string} ip @param {string[]} want @param {number} started @param {number} stable */
  async function poll(rt, ip, want, started, stable) {
    let failed = 0;
    let streak = 0;
    let since = 0;
    let last = '';
    while ((performance.now() - started) / 1000 < timeout) {
      const t = performance.now();
      const page = await fetchPage(ip, port, config.timeouts.http);
      const got = page.ok ? pageOf(config, page.body) : '';
      if (!page.ok) failed++;
      last = page.ok ? (got || `HTTP ${page.status}`) : page.error;
      if (want.includes(got)) {
        if (streak++ === 0) since = t;
        if (streak >= stable) return { seconds: (since - started) / 1000, failed };
      } else {
        streak = 0;
      }
      await sleep(POLL_MS, rt.signal);
    }
    throw new Error(`${w.context}'s VIP ${ip}:${port} did not answer with ${want.join(' or ')} within ${timeout}s ` +
      `(${failed} failed requests; last answer: ${last})`);
  }

  return {
    title: `Failover: ${w.context}'s echo VIP keeps answering, from ${a.context}, while ${b.context} has no echo pods`,
    cluster: b,
    async check(rt) {
      const [live, wLive] = await Promise.all([getObjects(rt, b, ns, [`deploy/${name}`, `svc/${name}`]),
        w === b ? null : getObjects(rt, w, ns, [`svc/${name}`])]);
      const deploy = live.get(`deployment/${name}`);
      const ip = lbIp((wLive ?? live).get(`service/${name}`));
      if (!deploy || !lbIp(live.get(`service/${name}`)) || !ip) {
        return { state: 'blocked', message: `echo is not deployed on ${deploy ? w.context : b.context} with a LoadBalancer IP: run step 08 (npm run 08) first.` };
      }
      const record = deploy.metadata?.annotations?.[DRILL_ANNOTATION];
      if (record && !flags.has('again') && deploy.spec?.replicas === replicas) return { state: 'done', detail: record };
      if (!connectedTo(await meshStatus(rt, b), a.name)) {
        return { state: 'blocked', message: `${b.context} is not connected to ${a.context}: run step 07 (npm run 07) first.` };
      }
      const resuming = deploy.spec?.replicas === 0;
      return { state: 'todo', detail: resuming ? `resuming: ${b.context} is at 0 replicas` : undefined, data: { ip, resuming } };
    },
    async run(rt, check) {
      const { ip, resuming } = check.state === 'todo' ? check.data : { ip: '', resuming: false };
      let restore = !flags.has('keep-down');
      try {
        // First the answer B's pods give, so that A's page after the scale-down means a failover.
        if (!resuming) await until(rt, ip, before, performance.now(), 1);
        const scaledAt = performance.now(); // the clock runs from the scale command, as a user would time it
        await rt.exec(scale(0));
        rt.announce(`${curlLine(ip, port, config.timeouts.http)}   # every ${POLL_MS} ms until ${a.echoPage} answers`);
        const down = await until(rt, ip, [a.echoPage], scaledAt);
        const result = `${a.context} answered on ${w.context}'s VIP ${down.seconds.toFixed(2)}s after scale-down, ${down.failed} failed requests`;
        out.info(`  ${result}`);
        if (!restore) {
          out.warn(`  --keep-down: ${b.context} stays at 0 replicas. Restore with: ${bashOf(scale(replicas))}`);
          return result;
        }
        restore = false;
        await restoreB(rt);
        await rt.exec(kubectl(b, 'annotate', '-n', ns, `deployment/${name}`, '--overwrite',
          `${DRILL_ANNOTATION}=passed ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}: ${result}`));
        return result;
      } finally {
        if (restore) {
          out.warn(`  restoring ${b.context}'s echo to ${replicas} replicas`);
          await restoreB(new Runtime({ config, mode: 'run', verbose: rt.verbose }));
        }
      }
    },
    transcript: [
      assignIp(kubectl(w, 'get', 'svc', '-n', ns, name, '-o', `jsonpath=${LB_IP_PATH}`)),
      `# ${w.context}'s VIP answers from ${b.context}'s pods first`,
      ...bashWaitForPage('$ip', port, timeout, config.timeouts.http, before),
      bashOf(scale(0)),
      `# ${w.context}'s VIP should now answer from ${a.context}`,
      ...bashWaitForPage('$ip', port, timeout, config.timeouts.http, [a.echoPage]),
      bashOf(scale(replicas)),
      bashOf(rollout),
      ...bashWaitForPage('$ip', port, timeout, config.timeouts.http, before),
    ],
  };

  /** Scales B back and waits until the watched VIP answers as it should again. @param {Runtime} rt */
  async function restoreB(rt) {
    await rt.exec(scale(replicas));
    await rt.exec(rollout);
    const ip = lbIp((await getObjects(rt, w, ns, [`svc/${name}`])).get(`service/${name}`));
    await until(rt, ip, before);
  }
}
