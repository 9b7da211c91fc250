// @ts-check
// Step 09's record (issue 12): the drill keeps every request it makes from
// before the scale-down until B is restored, prints a timeline with a scale and
// saves the record as JSON and an SVG chart, printing the picture's path. On a
// twin with affinity local, B's VIP answers from B before the scale-down, from
// A only after it, and from B again after the restore: the saved record, the
// picture and the printed timeline must all show that, with NO_COLOR and on a
// pseudo-terminal (util-linux `script`). A drill recorded as passed is not run
// again, so a second run saves nothing; --keep-down and a failed drill save
// what they recorded.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { e2eTwin, ROOT } from '../support/e2e.mjs';
import { kubectl } from '../support/kubectl.mjs';
import { npmRun } from '../support/npm-twin.mjs';
import { killTree } from '../support/proc.mjs';
import { setEnvVars } from '../support/e2e-checks.mjs';
import { scaled, scaledSeconds, describeDeadline } from '../support/time.mjs';
import { TIMELINE_WIDTH } from '../../scripts/lib/drill-record.mjs';

/** @typedef {import('../support/e2e.mjs').E2E} E2E */
/** @typedef {import('ava').ExecutionContext} T */
/** @typedef {import('../../scripts/lib/drill-record.mjs').DrillData} DrillData */

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const ESC = '\x1b[';
const PICTURE = /^ {2}the drill as a picture: (\S+\.svg) \(its requests: (\S+\.json)\)$/m;

/** The record folder the harness gave the runbook. @param {E2E} h */
const recordDir = (h) => /** @type {string} */ (h.env.RUNBOOK_FAILOVER_DIR);
/** Files in it, sorted ([] before the first record). @param {E2E} h */
const recordFiles = (h) => (existsSync(recordDir(h)) ? readdirSync(recordDir(h)).sort() : []);

/**
 * Output as a reader sees it: no colours, and of a line redrawn with \r (a
 * terminal's wait line) only what is left.
 * @param {string} text
 */
const plain = (text) => stripVTControlCharacters(text).replace(/\r\n/g, '\n').split('\n').map((l) => l.split('\r').at(-1)).join('\n');

/** B's VIP as the record names it. @param {E2E} h */
function vipOf(h) {
  const svc = h.store('b').get('/services', 'echo', 'echo');
  return `${svc?.status?.loadBalancer?.ingress?.[0]?.ip}:${svc?.spec?.ports?.[0]?.port}`;
}

/**
 * The saved record and picture that step 09's output names: in the harness's
 * folder, the SVG beside its JSON.
 * @param {T} t @param {E2E} h @param {string} output as printed (plain)
 */
function savedRecord(t, h, output) {
  const m = PICTURE.exec(output);
  if (!m) throw new Error(`no picture path in the output:\n${output}`);
  const [, svgPath, jsonPath] = m;
  t.true(svgPath.startsWith(recordDir(h)), `saved in RUNBOOK_FAILOVER_DIR: ${svgPath}`);
  t.is(jsonPath, svgPath.replace(/\.svg$/, '.json'));
  t.regex(svgPath, /\/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ(-\d+)?\.svg$/, 'named by its UTC time');
  return { data: /** @type {DrillData} */ (JSON.parse(readFileSync(jsonPath, 'utf8'))), svg: readFileSync(svgPath, 'utf8') };
}

/**
 * A passed drill's record: B before the scale-down, A first after it, A at the
 * restore, B again at the end; the marks in that order.
 * @param {T} t @param {E2E} h @param {DrillData} data
 */
function assertDrillData(t, h, data) {
  t.is(data.watchedCluster, 'b');
  t.is(data.vip, vipOf(h));
  t.deepEqual(data.marks.map((m) => m.what), ['scale-down', 'restore']);
  const [down, up] = data.marks.map((m) => m.t);
  const rs = data.requests;
  const before = rs.filter((r) => r.t < down);
  t.true(before.length >= 1, 'asked before the scale-down');
  t.true(before.every((r) => r.cluster === 'b' && r.status === 200), `B answered before the scale-down: ${JSON.stringify(before)}`);
  const firstA = rs.find((r) => r.cluster === 'a');
  t.true(firstA !== undefined && firstA.t >= down, `A's first answer (${firstA?.t} ms) after the scale-down mark (${down} ms)`);
  t.is(rs.filter((r) => r.t < up).at(-1)?.cluster, 'a', 'A answered up to the restore');
  const after = rs.filter((r) => r.t > up);
  t.true(after.length >= 3, 'asked after the restore');
  t.deepEqual(after.slice(-3).map((r) => r.cluster), ['b', 'b', 'b'], 'B again after the restore');
  const bAfter = after.findIndex((r) => r.cluster === 'b');
  t.true(after.slice(bAfter).every((r) => r.cluster === 'b'), 'once B answers again, only B');
  for (const r of rs) t.true(r.ms >= 0 && (r.status === 200 || (r.status === 0 && typeof r.error === 'string')), JSON.stringify(r));
}

/**
 * The picture: one bar per request, B's colour alone before the scale-down
 * line, A's first bar at or after it, both marks, B's colour last.
 * @param {T} t @param {DrillData} data @param {string} svg
 */
function assertPicture(t, data, svg) {
  t.true(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  t.true(svg.includes(`Failover drill: cluster B's VIP ${data.vip}`), 'names the VIP');
  /** @type {Record<string, number>} */
  const marks = {};
  for (const m of svg.matchAll(/<g class="mark" data-what="([^"]+)">\n<line x1="([\d.]+)"/g)) marks[m[1]] = Number(m[2]);
  t.deepEqual(Object.keys(marks), ['scale-down', 'restore']);
  const bars = [...svg.matchAll(/<rect class="request" x="([\d.]+)"[^>]* fill="(#[0-9a-f]+)"><title>([^<]*)<\/title>/g)]
    .map((m) => ({ x: Number(m[1]), fill: m[2], title: m[3] }));
  t.is(bars.length, data.requests.length, 'a bar per request');
  const a = bars.find((b) => /cluster A/.test(b.title));
  const b = bars.find((b) => /cluster B/.test(b.title));
  if (!a || !b) return t.fail('bars for both clusters');
  t.not(a.fill, b.fill);
  t.true(bars.filter((x) => x.x < marks['scale-down']).every((x) => x.fill === b.fill), 'only B before the scale-down line');
  t.true(a.x >= marks['scale-down'] && a.x < marks.restore, `A's first bar (${a.x}) between the lines (${marks['scale-down']}, ${marks.restore})`);
  t.is(bars.at(-1)?.fill, b.fill, 'B last');
}

/**
 * The printed timeline (plain text): cells, a ruler with ↓ and ↑, the seconds
 * and a legend agreeing with the record.
 * @param {T} t @param {DrillData} data @param {string} output plain
 */
function assertTimeline(t, data, output) {
  const lines = output.split('\n');
  const i = lines.findIndex((l) => /^ {2}[─┬↓↑]+$/.test(l) && l.includes('↓'));
  if (i < 1) return t.fail(`no timeline ruler in the output:\n${output}`);
  const cells = [...lines[i - 1].slice(2)];
  const ruler = [...lines[i].slice(2)];
  t.is(cells.length, TIMELINE_WIDTH, lines[i - 1]);
  const down = ruler.indexOf('↓');
  const up = ruler.indexOf('↑');
  t.true(up > down, lines[i]);
  t.true(cells.slice(0, down).every((c) => c === 'B'), `only B before ↓: ${lines[i - 1]}`);
  const firstA = cells.indexOf('A');
  t.true(firstA >= down && firstA <= up, `A first from ↓ on: ${lines[i - 1]}`);
  t.is(cells.at(-1), 'B', `B at the end: ${lines[i - 1]}`);
  t.regex(lines[i + 1], /^ {2}0\.?0? s +\d/, 'the scale in seconds');
  const [d, u] = data.marks.map((m) => (m.t / 1000).toFixed(2));
  const fails = data.requests.filter((r) => r.status !== 200).length;
  t.is(lines[i + 2], `  ↓ scale-down at ${d} s · ↑ restore at ${u} s · × ${fails} of ${data.requests.length} requests failed`);
}

/**
 * Runs all.mjs on a pseudo-terminal (colour on, NO_COLOR and FORCE_COLOR
 * unset); its output as the terminal got it.
 * @param {E2E} h
 * @returns {Promise<{ code: number | null, output: string }>}
 */
function onTerminal(h) {
  const env = Object.fromEntries(Object.entries(h.env).filter(([k]) => !['NO_COLOR', 'FORCE_COLOR', 'TERM'].includes(k)));
  env.TERM = 'xterm';
  const limit = scaled(180_000);
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', `${JSON.stringify(process.execPath)} scripts/all.mjs`, '/dev/null'],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let killed = false;
    const timer = setTimeout(() => { killed = true; if (child.pid) killTree(child.pid); }, limit);
    child.stdout.setEncoding('utf8').on('data', (d) => { output += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { output += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (killed) reject(new Error(`all.mjs on a terminal killed after ${describeDeadline(limit)}:\n${plain(output).slice(-3000)}`));
      else resolve({ code, output });
    });
  });
}

test.serial('NO_COLOR: the drill prints its timeline and saves its record and picture; a second run saves none', async (t) => {
  t.timeout(scaled(600_000));
  const h = await e2eTwin(t);
  const r = await h.run('all.mjs', [], { timeoutMs: 180_000 });
  t.is(r.code, 0, r.output);
  t.false(r.output.includes(ESC), 'no colour');
  const { data, svg } = savedRecord(t, h, r.output);
  assertDrillData(t, h, data);
  assertPicture(t, data, svg);
  assertTimeline(t, data, r.output);
  t.is(recordFiles(h).length, 2, 'one JSON, one SVG');

  const files = recordFiles(h);
  const again = await h.run('all.mjs');
  t.is(again.code, 0, again.output);
  t.regex(again.output, /^✔ 09 .*: 1 ok, 0 changed, 0 failed/m, 'the drill was recorded as passed');
  t.notRegex(again.output, PICTURE);
  t.deepEqual(recordFiles(h), files, 'no new record');
});

test.serial('a failed drill and --keep-down save what they recorded and print where', async (t) => {
  t.timeout(scaled(600_000));
  const h = await e2eTwin(t);
  const r = await h.run('all.mjs', [], { timeoutMs: 180_000 });
  t.is(r.code, 0, r.output);
  const scaleA = (/** @type {number} */ n) => kubectl(['--context', h.vars.CLUSTER_A_CONTEXT, 'scale', '-n', 'echo', 'deployment/echo', `--replicas=${n}`],
    { kubeconfig: h.twin.kubeconfig, cacheDir: join(h.twin.dir, 'kube-cache') });

  // No pods on A either: after the scale-down nobody answers B's VIP; the drill runs out of time and restores B.
  setEnvVars(h, { TIMEOUT_FAILOVER: scaledSeconds(3) });
  const replicas = Number(h.store('a').get('apps/deployments', 'echo', 'echo')?.spec?.replicas);
  t.is((await scaleA(0)).code, 0);
  const failed = await h.run('09-failover.mjs', ['--again']);
  t.not(failed.code, 0, failed.output);
  t.regex(failed.output, /did not answer with /);
  const { data } = savedRecord(t, h, failed.output);
  t.deepEqual(data.marks.map((m) => m.what), ['scale-down', 'restore']);
  const [down, up] = data.marks.map((m) => m.t);
  t.false(data.requests.some((q) => q.cluster === 'a'), 'A never answered');
  t.true(data.requests.some((q) => q.t > down && q.t < up && q.status !== 200), 'failures between the marks');
  t.is(data.requests.at(-1)?.cluster, 'b', 'B answers again at the end');
  t.regex(failed.output, /^ {2}↓ scale-down at \d+\.\d\d s · ↑ restore at \d+\.\d\d s · × [1-9]\d* of \d+ requests failed$/m, 'the timeline');

  // --keep-down: the drill is recorded up to A's answers, with no restore mark.
  t.is((await scaleA(replicas)).code, 0);
  const kept = await h.run('09-failover.mjs', ['--again', '--keep-down']);
  t.is(kept.code, 0, kept.output);
  const keptData = savedRecord(t, h, kept.output).data;
  t.deepEqual(keptData.marks.map((m) => m.what), ['scale-down']);
  t.is(keptData.requests[0]?.cluster, 'b', 'B answered first');
  t.is(keptData.requests.at(-1)?.cluster, 'a', 'A answering at the end');
  t.regex(kept.output, /^ {2}↓ scale-down at \d+\.\d\d s · × \d+ of \d+ requests failed$/m, 'the timeline');
  t.is(recordFiles(h).length, 6, 'three records: the run\'s, the failed drill\'s and --keep-down\'s');
});

test.serial('on a terminal: the timeline renders in colour and the record is saved', async (t) => {
  if (!hasScript) return t.pass('util-linux script is not installed: no pseudo-terminal to test on');
  t.timeout(scaled(600_000));
  const h = await e2eTwin(t);
  const r = await onTerminal(h);
  const text = plain(r.output);
  t.is(r.code, 0, text);
  const { data, svg } = savedRecord(t, h, text);
  assertDrillData(t, h, data);
  assertPicture(t, data, svg);
  assertTimeline(t, data, text);
  const cellsLine = r.output.split(/\r?\n/).find((l) => /[AB]/.test(stripVTControlCharacters(l)) && stripVTControlCharacters(l).length === TIMELINE_WIDTH + 2 && l.includes(ESC));
  t.truthy(cellsLine, 'the timeline\'s cells in colour');
});

test.serial('npm run demo ends by printing the path of the drill\'s picture', async (t) => {
  t.timeout(scaled(600_000));
  const dir = mkdtempSync(join(tmpdir(), 'failover-demo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const demo = npmRun('demo', { env: { RUNBOOK_FAILOVER_DIR: dir } });
  t.teardown(() => { demo.child.kill('SIGKILL'); });
  const end = await demo.exited;
  const output = demo.output();
  t.is(end.code, 0, output);
  const last = output.trimEnd().split('\n').at(-1) ?? '';
  const m = /^The failover drill as a picture: (\S+\.svg)$/.exec(last);
  if (!m) return t.fail(`the last line: ${last}`);
  t.true(m[1].startsWith(dir) && existsSync(m[1]), m[1]);
  t.true(output.includes(`  the drill as a picture: ${m[1]} `), 'the picture step 09 saved');
  const net = / on (127\.\d+)\.x\.y/.exec(output)?.[1];
  t.true(Boolean(net) && JSON.parse(readFileSync(m[1].replace(/\.svg$/, '.json'), 'utf8')).vip.startsWith(`${net}.`), 'of this demo\'s twin');
});
