// @ts-check
// The failover drill's record: what it keeps of each request and mark, the
// one-line timeline with its scale, the SVG chart and the files it saves. A
// drill as step 09 sees it on the twin: B answers, the scale-down, a few failed
// requests, A answers, the restore, B again. The switch from B to A must sit at
// the scale-down mark in both pictures.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { DrillRecord, timelineCells, TIMELINE_WIDTH, failoverDir, DEFAULT_DIR } from '../../scripts/lib/drill-record.mjs';
import { articleConfig, tempDir } from '../support/config-fixture.mjs';

const config = articleConfig();
const STARTED = new Date('2026-12-04T18:00:00.250Z');

/**
 * A drill on a clock of our own: B every 200 ms until the scale-down at 2 s,
 * requests refused until 2.4 s, A until the restore at 6 s, then A and B again.
 * @param {string} [vip]
 */
function drill(vip = '127.42.254.240:8080') {
  let now = 0;
  const rec = new DrillRecord({ vip, watchedCluster: 'b', clock: () => now, started: STARTED });
  const ask = (/** @type {import('../../scripts/lib/http.mjs').PageResult} */ page) => {
    const sent = now;
    now += 4; // latency
    rec.page(config, page, sent);
    now += 196;
  };
  const from = (/** @type {'a' | 'b'} */ k) => ({ ok: /** @type {const} */ (true), status: 200, body: `<h1>${config[k].echoPage}</h1>` });
  while (now < 2000) ask(from('b'));
  rec.mark('scale-down');
  while (now < 2400) ask({ ok: false, error: 'ECONNREFUSED' });
  while (now < 6000) ask(from('a'));
  rec.mark('restore');
  while (now < 7000) ask(from('a'));
  while (now < 8000) ask(from('b'));
  return rec;
}

test('the record keeps each request (time sent, answering cluster, status, latency, error) and the marks', (t) => {
  const data = JSON.parse(JSON.stringify(drill()));
  t.deepEqual(Object.keys(data), ['started', 'vip', 'watchedCluster', 'requests', 'marks']);
  t.is(data.started, STARTED.toISOString());
  t.is(data.watchedCluster, 'b');
  t.deepEqual(data.requests[0], { t: 0, cluster: 'b', status: 200, ms: 4 });
  t.deepEqual(data.requests[10], { t: 2000, cluster: null, status: 0, ms: 4, error: 'ECONNREFUSED' });
  t.deepEqual(data.requests[12], { t: 2400, cluster: 'a', status: 200, ms: 4 });
  t.deepEqual(data.marks, [{ t: 2000, what: 'scale-down' }, { t: 6000, what: 'restore' }]);
  t.is(data.requests.length, 40);

  let clock = 1000;
  const rec = new DrillRecord({ vip: 'x', watchedCluster: 'b', clock: () => clock });
  clock = 1500;
  rec.page(config, { ok: true, status: 200, body: 'something else' }, 1250);
  rec.page(config, { ok: true, status: 503, body: 'no healthy upstream' }, 1400);
  t.deepEqual(rec.toJSON().requests, [{ t: 250, cluster: null, status: 200, ms: 250 }, { t: 400, cluster: null, status: 503, ms: 100 }],
    'times from the clock, relative to the start; an answer without a known page names no cluster');
  rec.mark('scale-down', 1100);
  rec.mark('restore');
  t.deepEqual(rec.toJSON().marks, [{ t: 100, what: 'scale-down' }, { t: 500, what: 'restore' }]);
});

test('the timeline: B up to the scale-down mark, failures, A from there to the restore, then B; a scale in seconds', (t) => {
  const lines = stripVTControlCharacters(drill().timeline()).split('\n');
  t.is(lines.length, 4);
  for (const l of lines) t.true([...l].length <= 80, `fits 80 columns: ${l}`);
  const cells = [...lines[0].slice(2)];
  const ruler = [...lines[1].slice(2)];
  t.is(cells.length, TIMELINE_WIDTH);
  const down = ruler.indexOf('↓');
  const up = ruler.indexOf('↑');
  t.true(down > 0 && up > down, lines[1]);
  t.true(cells.slice(0, down).every((c) => c === 'B'), `only B before the scale-down: ${lines[0]}`);
  const firstA = cells.indexOf('A');
  t.true(firstA >= down && firstA <= down + 4, `A answers from the scale-down on (cell ${firstA}, mark at ${down}): ${lines[0]}`);
  t.true(cells.slice(down, firstA).every((c) => c === '×'), `failures between: ${lines[0]}`);
  t.true(cells.slice(firstA, up).every((c) => c === 'A'), `A until the restore: ${lines[0]}`);
  t.is(cells.at(-1), 'B', 'B again after the restore');
  t.regex(lines[2], /^ {2}0 s +2 s +4 s +6 s/, 'the scale');
  t.is(lines[2].indexOf('4 s'), ruler.indexOf('┬', 1) + 2, 'a label under its tick (the scale-down took the 2 s tick)');
  t.is(lines[3], '  ↓ scale-down at 2.00 s · ↑ restore at 6.00 s · × 2 of 40 requests failed');
});

test('timeline cells: · where nothing was asked for a second or more, the last answer carried over shorter gaps', (t) => {
  const data = {
    started: STARTED.toISOString(), vip: 'x', watchedCluster: /** @type {const} */ ('b'), marks: [],
    requests: [{ t: 0, cluster: /** @type {const} */ ('b'), status: 200, ms: 1 }, { t: 400, cluster: /** @type {const} */ ('b'), status: 200, ms: 1 },
      { t: 9000, cluster: /** @type {const} */ ('a'), status: 200, ms: 1000 }],
  };
  // 20 cells of 500 ms: B (0 and 400 ms), B carried to 1 s, nothing asked until A at 9 s.
  t.is(timelineCells(data, 20).join(''), `BB${'·'.repeat(16)}A·`);
});

/**
 * Whether an XML text is well-formed enough for a browser: one root, every tag
 * closed in order, attributes quoted, no bare & or < in text.
 * @param {string} xml
 */
function wellFormed(xml) {
  /** @type {string[]} */
  const open = [];
  let roots = 0;
  const rest = xml.replace(/<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g, (_, close, name, _a, self) => {
    if (close) {
      if (open.pop() !== name) throw new Error(`</${name}> closes ${open.at(-1) ?? 'nothing'}`);
    } else if (!self) {
      if (!open.length) roots++;
      open.push(name);
    } else if (!open.length) roots++;
    return '';
  });
  if (open.length) throw new Error(`not closed: ${open.join(', ')}`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
  if (/<|&(?!(amp|lt|gt|quot|apos);)/.test(rest)) throw new Error(`bare < or & in: ${rest.slice(0, 200)}`);
  return true;
}

test('the SVG is well-formed, holds both marks, and A\'s first bar is at the scale-down line', (t) => {
  const svg = drill('127.42.254.240:8080 <&>').svg();
  t.notThrows(() => wellFormed(svg));
  t.true(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  t.true(svg.includes('127.42.254.240:8080 &lt;&amp;&gt;'), 'text escaped');
  /** @type {Record<string, number>} */
  const marks = {};
  for (const m of svg.matchAll(/<g class="mark" data-what="([^"]+)">\n<line x1="([\d.]+)"[^>]*>\n<text[^>]*>([^<]*)<\/text>/g)) {
    marks[m[1]] = Number(m[2]);
    t.true(m[3].startsWith(m[1]), `labelled: ${m[3]}`);
  }
  t.deepEqual(Object.keys(marks), ['scale-down', 'restore']);
  const bars = [...svg.matchAll(/<rect class="request" x="([\d.]+)" y="[\d.]+" width="[\d.]+" height="[\d.]+" fill="(#[0-9a-f]+)"><title>([^<]*)<\/title>/g)]
    .map((m) => ({ x: Number(m[1]), fill: m[2], title: m[3] }));
  t.is(bars.length, 40);
  const fillOf = (/** @type {RegExp} */ re) => bars.find((b) => re.test(b.title))?.fill;
  const a = fillOf(/cluster A/);
  const b = fillOf(/cluster B/);
  const failed = fillOf(/ECONNREFUSED/);
  t.truthy(a && b && failed && new Set([a, b, failed]).size === 3, 'a colour for each lane');
  const firstA = bars.find((x) => x.fill === a);
  t.true(bars.filter((x) => x.x < marks['scale-down']).every((x) => x.fill === b), 'only B before the scale-down');
  t.true(firstA !== undefined && firstA.x >= marks['scale-down'] && firstA.x - marks['scale-down'] < 40, `A from the scale-down on: ${firstA?.x} vs ${marks['scale-down']}`);
  t.true(bars.filter((x) => x.fill === failed).every((x) => x.x >= marks['scale-down'] && x.x < (firstA?.x ?? 0)), 'failures between');
  t.regex(svg, /<title>2\.00 s: ECONNREFUSED, 4 ms<\/title>/);
  t.regex(svg, / 40 requests, 2 failed</);
});

test('save writes <UTC time>.json and .svg, and never overwrites an earlier record', (t) => {
  const dir = tempDir('drill-record-');
  const rec = drill();
  const first = rec.save(dir);
  t.is(basename(first.json), '2026-12-04T18-00-00Z.json');
  t.is(basename(first.svg), '2026-12-04T18-00-00Z.svg');
  t.deepEqual(JSON.parse(readFileSync(first.json, 'utf8')), JSON.parse(JSON.stringify(rec)));
  t.is(readFileSync(first.svg, 'utf8'), rec.svg());
  const second = rec.save(dir);
  t.is(basename(second.json), '2026-12-04T18-00-00Z-2.json');
});

test('the folder: RUNBOOK_FAILOVER_DIR (relative to the current folder), else .runbook/failover in the runbook\'s folder', (t) => {
  t.is(failoverDir({ RUNBOOK_FAILOVER_DIR: 'x/y' }), resolve('x/y'));
  t.is(failoverDir({ RUNBOOK_FAILOVER_DIR: '  ' }), DEFAULT_DIR);
  t.is(failoverDir({}), DEFAULT_DIR);
  t.is(DEFAULT_DIR, fileURLToPath(new URL('../../.runbook/failover/', import.meta.url)));
});
