// @ts-check
// The failover drill of step 09, as mechanics: whether it is done, and the
// order its commands run in (the commands and the poll are in the step file).
// B is restored afterwards, also when the drill fails or is interrupted
// (unless --keep-down). A passed drill is recorded as an annotation on B's
// Deployment, so a second run finds the step done and changes nothing. Every
// request of the drill is recorded (drill-record.mjs): a timeline is printed and
// the record saved as <UTC time>.{json,svg} in RUNBOOK_FAILOVER_DIR.
import { getObjects, lbIp } from './probes.mjs';
import { meshStatus, connectedTo } from './mesh.mjs';
import { pollPages } from './http.mjs';
import { Runtime } from './runtime.mjs';
import { out } from './output.mjs';
import { bashOf } from './bash-text.mjs';
import { DrillRecord } from './drill-record.mjs';
import { shownPath } from './diagnostics-bundle.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./actions.js').CheckResult} CheckResult */
/** @typedef {import('./actions.js').Command} Command */
/** @typedef {import('./http.mjs').Curl} Curl */
/** @typedef {import('./http.mjs').Poll} Poll */
/** @typedef {import('./http.mjs').PageResult} PageResult */

export const DRILL_ANNOTATION = 'clustermesh-runbook.io/failover-drill';

/**
 * Step 09's check: done when B's Deployment holds a passed drill's record and
 * its replicas (unless `again`); blocked until echo has its VIPs (step 08) and
 * B is connected to A (step 07). 'todo' carries the watched VIP's IP, and
 * whether a drill stopped with B at 0 replicas (it then resumes there).
 * @param {Runtime} rt
 * @param {Config} config
 * @param {ClusterConfig} w the cluster whose VIP answers from B's pods
 * @param {boolean} again
 * @returns {Promise<CheckResult>}
 */
export async function drillState(rt, config, w, again) {
  const { a, b } = config;
  const { namespace: ns, name, replicas } = config.echo;
  const [live, wLive] = await Promise.all([getObjects(rt, b, ns, [`deploy/${name}`, `svc/${name}`]),
    w === b ? null : getObjects(rt, w, ns, [`svc/${name}`])]);
  const deploy = live.get(`deployment/${name}`);
  const ip = lbIp((wLive ?? live).get(`service/${name}`));
  if (!deploy || !lbIp(live.get(`service/${name}`)) || !ip) {
    return { state: 'blocked', message: `echo is not deployed on ${deploy ? w.context : b.context} with a LoadBalancer IP: run step 08 (npm run 08) first.` };
  }
  const record = deploy.metadata?.annotations?.[DRILL_ANNOTATION];
  if (record && !again && deploy.spec?.replicas === replicas) return { state: 'done', detail: record };
  if (!connectedTo(await meshStatus(rt, b), a.name)) {
    return { state: 'blocked', message: `${b.context} is not connected to ${a.context}: run step 07 (npm run 07) first.` };
  }
  const resuming = deploy.spec?.replicas === 0;
  return { state: 'todo', detail: resuming ? `resuming: ${b.context} is at 0 replicas` : undefined, data: { ip, resuming } };
}

/**
 * @typedef {{
 *   watched: ClusterConfig, before: string[], ask: (ip: string) => Curl, poll: Poll,
 *   scale: (n: number) => Command, rollout: Command, record: (text: string) => Command, keepDown: boolean,
 * }} Drill
 *   watched: whose VIP is asked; before: the pages it shows from B's pods; poll: a request every
 *   poll.every seconds, poll.inARow answers in a row count; record: annotates B's Deployment
 */

/**
 * Runs the drill: the VIP answers from B's pods, B is scaled to 0, the VIP
 * answers from A's; then B is scaled back, answers again and the drill is
 * recorded. Returns the measurement ("cluster-a answered on … after scale-down").
 * Every request it makes is kept (drill-record.mjs) and, once B is restored
 * (or left down, or the drill failed), printed as a timeline and saved as
 * JSON and SVG.
 * @param {Runtime} rt
 * @param {CheckResult} check drillState's answer
 * @param {Drill} d
 * @returns {Promise<string>}
 */
export async function failoverDrill(rt, check, d) {
  const { a, b } = rt.config;
  const { ip, resuming } = check.state === 'todo' ? check.data : { ip: '', resuming: false };
  const vip = `${d.watched.context}'s VIP ${ip}`;
  const ask = d.ask(ip);
  const rec = new DrillRecord({ vip: `${ip}:${ask.port}`, watchedCluster: d.watched.key });
  /** @type {Asking} */
  const asking = { vip, ask, onAnswer: (page, sentAt) => rec.page(rt.config, page, sentAt) };
  let kept = false;
  const keep = () => { if (!kept) keepRecord(rec); kept = true; };
  let restore = !d.keepDown;
  try {
    // First the answer B's pods give, so that A's page after the scale-down means a failover.
    if (!resuming) await pollPages(rt, vip, ask, d.before, { ...d.poll, inARow: 1 }, { onAnswer: asking.onAnswer });
    const scaledAt = performance.now(); // the clock runs from the scale command, as a user would time it
    rec.mark('scale-down', scaledAt);
    await rt.exec(d.scale(0));
    rt.announce(`${ask.line}   # every ${d.poll.every * 1000} ms until ${a.echoPage} answers ${d.poll.inARow} times in a row`);
    const down = await pollPages(rt, vip, ask, [a.echoPage], d.poll, { started: scaledAt, onAnswer: asking.onAnswer });
    const result = `${a.context} answered on ${d.watched.context}'s VIP ${down.seconds.toFixed(2)}s after scale-down, ${down.failed} failed requests`;
    out.info(`  ${result}`);
    if (d.keepDown) {
      out.warn(`  --keep-down: ${b.context} stays at 0 replicas. Restore with: ${bashOf(d.scale(rt.config.echo.replicas))}`);
      keep();
      return result;
    }
    restore = false;
    await restoreB(rt, d, asking, rec);
    keep();
    await rt.exec(d.record(`passed ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}: ${result}`));
    return result;
  } finally {
    try {
      if (restore) {
        out.warn(`  restoring ${b.context}'s echo to ${rt.config.echo.replicas} replicas`);
        // A runtime of its own: the run's may be aborted (Ctrl-C).
        await restoreB(new Runtime({ config: rt.config, mode: 'run', verbose: rt.verbose, step: rt.step }), d, asking, rec);
      }
    } finally {
      keep();
    }
  }
}

/** @typedef {{ vip: string, ask: Curl, onAnswer: (page: PageResult, sentAt: number) => void }} Asking */

/**
 * Scales B back and waits until the watched VIP answers from B's pods again.
 * @param {Runtime} rt @param {Drill} d @param {Asking} asking @param {DrillRecord} rec
 */
async function restoreB(rt, d, asking, rec) {
  rec.mark('restore');
  await rt.exec(d.scale(rt.config.echo.replicas));
  await rt.exec(d.rollout);
  await pollPages(rt, asking.vip, asking.ask, d.before, d.poll, { onAnswer: asking.onAnswer });
}

/**
 * Prints the drill's timeline and saves its record (JSON and SVG), saying
 * where the picture is. A record that cannot be saved is a warning: it never
 * replaces the drill's own result or error. Nothing is kept of a drill that
 * made no request.
 * @param {DrillRecord} rec
 */
function keepRecord(rec) {
  if (!rec.data.requests.length) return;
  out.info(rec.timeline());
  try {
    const { svg, json } = rec.save();
    out.info(`  the drill as a picture: ${shownPath(svg)} (its requests: ${shownPath(json)})`);
  } catch (err) {
    out.warn(`  the drill's record could not be saved: ${/** @type {Error} */ (err).message}`);
  }
}
