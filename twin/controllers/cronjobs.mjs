// @ts-check
// The CronJob controller, reduced: at each scheduled time (UTC) a Job
// `<cronjob>-<minutes since the epoch>` from spec.jobTemplate, owned by the
// CronJob; a time missed since the last run (a twin that was stopped, a
// lastScheduleTime in the past) runs at once, the most recent one only, unless
// startingDeadlineSeconds passed. concurrencyPolicy Forbid skips a run while a
// Job is active, Replace deletes the active ones; suspend stops it. status.active,
// lastScheduleTime and lastSuccessfulTime follow its Jobs, and finished Jobs past
// the history limits are deleted. Times more than 24 days ahead (the chart's
// certgen CronJob runs every four months) are only looked at again later.
import { Debouncer, Timers, findCondition } from './util.mjs';
import { parseCron, nextAfter } from './cron.mjs';
import { applyDefaults } from '../kinds/defaults.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('../store/types.js').StoreEvent} StoreEvent */
/** @typedef {import('../store/store.mjs').Store} Store */

const CRONJOBS = 'batch/cronjobs';
const JOBS = 'batch/jobs';
const MAX_TIMER_MS = 24 * 86_400_000;

/** @param {import('../types.js').Twin} twin */
export function startCronJobs(twin) {
  const parts = Object.values(twin.clusters).map((c) => new ClusterCronJobs(c.store));
  return { stop() { for (const p of parts) p.stop(); } };
}

/** @param {KubeObject} o */
const owner = (o) => /** @type {any[]} */ (o.metadata.ownerReferences ?? []).find((r) => r?.kind === 'CronJob' && r?.controller);
/** @param {number} ms */
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * The most recent scheduled time in (since, now], or undefined: looked for in the
 * last two days first, then (sparse schedules) from `since` on.
 * @param {import('./cron.mjs').Cron} cron @param {number} since @param {number} now
 */
function lastBefore(cron, since, now) {
  for (const from of [Math.max(since, now - 2 * 86_400_000), since]) {
    /** @type {number | undefined} */
    let last;
    for (let t = nextAfter(cron, from, now), n = 0; t !== undefined && n < 10_000; t = nextAfter(cron, t, now), n++) last = t;
    if (last !== undefined) return last;
  }
  return undefined;
}

class ClusterCronJobs {
  /** @param {Store} store */
  constructor(store) {
    this.store = store;
    this.timers = new Timers();
    this.flusher = new Debouncer(() => { for (const cj of this.store.list(CRONJOBS)) this.sync(cj); }, () => 0);
    /** @param {StoreEvent} ev */
    this.onEvent = (ev) => {
      if (ev.resource === CRONJOBS || (ev.resource === JOBS && owner(ev.object))) this.flusher.kick();
    };
    store.on('event', this.onEvent);
    this.flusher.kick();
  }

  stop() {
    this.store.off('event', this.onEvent);
    this.flusher.stop();
    this.timers.stop();
  }

  /** @param {KubeObject} cj */
  sync(cj) {
    const ns = cj.metadata.namespace ?? '';
    const spec = cj.spec ?? {};
    const jobs = this.store.list(JOBS, ns).filter((j) => owner(j)?.uid === cj.metadata.uid);
    /** @param {KubeObject} j @param {string} type */
    const has = (j, type) => findCondition(j.status?.conditions, type)?.status === 'True';
    const done = (/** @type {KubeObject} */ j) => has(j, 'Complete') || has(j, 'Failed');
    for (const [type, limit] of /** @type {const} */ ([['Complete', spec.successfulJobsHistoryLimit ?? 3], ['Failed', spec.failedJobsHistoryLimit ?? 1]])) {
      const old = jobs.filter((j) => has(j, type)).sort((x, y) => String(x.status?.startTime).localeCompare(String(y.status?.startTime)));
      for (const j of old.slice(0, Math.max(0, old.length - limit))) {
        try { this.store.delete(JOBS, ns, j.metadata.name); } catch { /* gone */ }
      }
    }
    const active = jobs.filter((j) => !done(j) && this.store.get(JOBS, ns, j.metadata.name));
    const succeeded = jobs.filter((j) => has(j, 'Complete')).map((j) => String(j.status?.completionTime ?? '')).filter(Boolean).sort();
    /** @type {Record<string, any>} */
    const status = { ...(cj.status ?? {}) };
    if (active.length) status.active = active.map((j) => ({ kind: 'Job', namespace: ns, name: j.metadata.name, uid: j.metadata.uid, apiVersion: 'batch/v1', resourceVersion: j.metadata.resourceVersion }));
    else delete status.active;
    if (succeeded.length && String(succeeded.at(-1)) > String(status.lastSuccessfulTime ?? '')) status.lastSuccessfulTime = succeeded.at(-1);
    this.writeStatus(cj, status);
    this.plan(cj, active);
  }

  /** @param {KubeObject} cj @param {Record<string, any>} status */
  writeStatus(cj, status) {
    if (JSON.stringify(status) === JSON.stringify(cj.status ?? {})) return;
    try { this.store.update(CRONJOBS, { ...cj, status }); } catch { /* changed meanwhile */ }
  }

  /** Runs a missed time now, or sets a timer for the next one. @param {KubeObject} cj @param {KubeObject[]} active */
  plan(cj, active) {
    const key = `cj|${cj.metadata.uid}`;
    this.timers.clear(key);
    const cron = parseCron(cj.spec?.schedule);
    if (!cron || cj.spec?.suspend) return;
    const now = Date.now();
    const since = Date.parse(cj.status?.lastScheduleTime ?? cj.metadata.creationTimestamp ?? iso(now));
    const missed = lastBefore(cron, since, now);
    const deadline = cj.spec?.startingDeadlineSeconds;
    if (missed !== undefined && (typeof deadline !== 'number' || now - missed <= deadline * 1000)) this.run(cj, missed, active);
    const next = nextAfter(cron, now, now + MAX_TIMER_MS);
    const wake = next ?? now + MAX_TIMER_MS;
    this.timers.ensure(key, wake - now, () => {
      const live = this.store.get(CRONJOBS, cj.metadata.namespace ?? '', cj.metadata.name);
      if (live && live.metadata.uid === cj.metadata.uid) this.sync(live);
    });
  }

  /** @param {KubeObject} cj @param {number} at the scheduled time @param {KubeObject[]} active */
  run(cj, at, active) {
    const ns = cj.metadata.namespace ?? '';
    const policy = cj.spec?.concurrencyPolicy ?? 'Allow';
    if (policy === 'Forbid' && active.length) return; // runs once the active Job is done, if still due
    if (policy === 'Replace') for (const j of active) { try { this.store.delete(JOBS, ns, j.metadata.name); } catch { /* gone */ } }
    const template = cj.spec?.jobTemplate ?? {};
    /** @type {KubeObject} */
    const job = {
      apiVersion: 'batch/v1', kind: 'Job',
      metadata: {
        name: `${cj.metadata.name}-${Math.floor(at / 60_000)}`, namespace: ns,
        labels: { ...(template.metadata?.labels ?? {}) },
        annotations: { ...(template.metadata?.annotations ?? {}), 'batch.kubernetes.io/cronjob-scheduled-timestamp': new Date(at).toISOString().replace(/\.\d+Z$/, 'Z') },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata.name, uid: cj.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: structuredClone(template.spec ?? {}),
    };
    applyDefaults('batch', 'Job', job);
    try { this.store.create(JOBS, job); } catch { /* made already */ }
    this.writeStatus(cj, { ...(cj.status ?? {}), lastScheduleTime: iso(at) });
  }
}
