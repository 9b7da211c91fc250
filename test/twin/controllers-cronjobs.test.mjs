// @ts-check
// CronJobs: schedules as robfig/cron reads them (UTC), a missed time runs at
// once (the most recent only, not when suspended or past its starting deadline),
// and a CronJob's deletion takes its Jobs along.
import test from 'ava';
import { parseCron, nextAfter } from '../../twin/controllers/cron.mjs';
import { twinForTest, waitFor } from '../support/twin-harness.mjs';

const DELAYS = { podReadyMs: 50, podTerminateMs: 20, crdEstablishMs: 20, lbAssignMs: 20 };
/** @param {string} s @param {string} after */
const next = (s, after) => {
  const c = parseCron(s);
  if (!c) return 'invalid';
  const t = nextAfter(c, Date.parse(after), Date.parse(after) + 5 * 366 * 86_400_000);
  return t === undefined ? 'never' : new Date(t).toISOString();
};

test('cron: fields, steps, names, descriptors; both day fields restricted means either', (t) => {
  t.is(next('0 0 1 */4 *', '2026-12-04T15:00:00Z'), '2027-01-01T00:00:00.000Z', "the chart's certgen schedule: months 1, 5, 9");
  t.is(next('0 0 1 */4 *', '2027-01-01T00:00:00Z'), '2027-05-01T00:00:00.000Z');
  t.is(next('*/15 9-17 * * MON-FRI', '2026-12-05T10:00:00Z'), '2026-12-07T09:00:00.000Z', 'Saturday to Monday 09:00');
  t.is(next('@hourly', '2026-12-04T15:30:10Z'), '2026-12-04T16:00:00.000Z');
  t.is(next('30 2 13 * 5', '2026-12-01T00:00:00Z'), '2026-12-04T02:30:00.000Z', 'Friday the 4th counts (day of month OR weekday)');
  t.is(next('0 0 31 2 *', '2026-01-01T00:00:00Z'), 'never');
  t.is(next('61 * * * *', '2026-01-01T00:00:00Z'), 'invalid');
  t.is(next('* * *', '2026-01-01T00:00:00Z'), 'invalid');
});

/** @param {string} name @param {Record<string, any>} spec */
const cronJob = (name, spec) => ({
  apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name, namespace: 'default' },
  spec: { jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', hostNetwork: true, containers: [{ name: 'c', image: 'busybox:1.36' }] } } } }, ...spec },
});

test("a missed schedule runs at once: a Job owned by the CronJob, the CronJob's status; deleting the CronJob takes its Jobs", async (t) => {
  const { kubectl, a } = await twinForTest(t, { controllers: true, delays: DELAYS });
  t.is((await kubectl(['apply', '-f', '-'], { input: JSON.stringify(cronJob('tick', { schedule: '* * * * *', successfulJobsHistoryLimit: 1 })) })).code, 0);
  t.is(a.store.list('batch/jobs', 'default').length, 0, 'nothing due yet');
  // As after a twin that was stopped for a while: the last run is ten minutes old.
  const cj = /** @type {any} */ (a.store.get('batch/cronjobs', 'default', 'tick'));
  const tenMin = new Date(Date.now() - 600_000).toISOString().replace(/\.\d+Z$/, 'Z');
  a.store.update('batch/cronjobs', { ...cj, status: { lastScheduleTime: tenMin } });
  /** @type {any} */
  const job = await waitFor(() => a.store.list('batch/jobs', 'default')[0], { what: 'the missed run', timeoutMs: 20_000 });
  t.regex(job.metadata.name, /^tick-\d{8}$/);
  t.like(job.metadata.ownerReferences[0], { kind: 'CronJob', name: 'tick', uid: cj.metadata.uid, controller: true });
  t.is(job.spec.selector.matchLabels['batch.kubernetes.io/controller-uid'], job.metadata.uid);
  t.is(a.store.list('batch/jobs', 'default').length, 1, 'only the most recent missed time runs');
  t.is((await kubectl(['wait', '--for=condition=complete', `job/${job.metadata.name}`, '--timeout=60s'])).code, 0);
  const st = await waitFor(() => a.store.get('batch/cronjobs', 'default', 'tick')?.status?.lastSuccessfulTime && a.store.get('batch/cronjobs', 'default', 'tick')?.status, { what: 'lastSuccessfulTime' });
  t.is(st.lastScheduleTime, new Date(Number(job.metadata.name.split('-')[1]) * 60_000).toISOString().replace(/\.\d+Z$/, 'Z'));
  t.false('active' in st);
  t.regex((await kubectl(['get', 'cronjobs'])).stdout, /\ntick\s+\* \* \* \* \*\s+<none>\s+False\s+0\s+\d+s\s+\d+s\n/);
  t.is((await kubectl(['delete', 'cronjob', 'tick'])).code, 0);
  await waitFor(() => a.store.list('batch/jobs', 'default').length === 0, { what: 'the Jobs to go with their CronJob', timeoutMs: 20_000 });
  t.pass();
});

test('suspend and a startingDeadlineSeconds that passed: no run', async (t) => {
  const { kubectl, a } = await twinForTest(t, { controllers: true, delays: DELAYS });
  const items = [cronJob('off', { schedule: '* * * * *', suspend: true }), cronJob('late', { schedule: '0 0 1 1 *', startingDeadlineSeconds: 60 })];
  t.is((await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) })).code, 0);
  for (const n of ['off', 'late']) {
    const cj = /** @type {any} */ (a.store.get('batch/cronjobs', 'default', n));
    a.store.update('batch/cronjobs', { ...cj, status: { lastScheduleTime: '2020-01-01T00:00:00Z' } });
  }
  // A third CronJob that is due shows the controller ran after the two updates.
  t.is((await kubectl(['apply', '-f', '-'], { input: JSON.stringify(cronJob('due', { schedule: '* * * * *' })) })).code, 0);
  const due = /** @type {any} */ (a.store.get('batch/cronjobs', 'default', 'due'));
  a.store.update('batch/cronjobs', { ...due, status: { lastScheduleTime: '2020-01-01T00:00:00Z' } });
  await waitFor(() => a.store.list('batch/jobs', 'default').some((j) => j.metadata.name.startsWith('due-')), { what: 'the due run' });
  t.deepEqual(a.store.list('batch/jobs', 'default').map((j) => j.metadata.name.replace(/-\d+$/, '')), ['due']);
});
