// @ts-check
// A record of the failover drill's requests (step 09): every request to the
// watched VIP from before the scale-down until B is restored, with the moments
// of the scale-down and the restore. It prints as a one-line timeline with a
// scale, is kept as JSON and drawn as an SVG chart (drill-svg.mjs) in
// <dir>/<UTC time>.{json,svg}: <dir> is RUNBOOK_FAILOVER_DIR (relative to the
// current directory), by default .runbook/failover in the runbook's folder (gitignored).
//
//   const rec = new DrillRecord({ vip: `${ip}:${port}`, watchedCluster: 'b' });
//   const sent = performance.now(); const page = await fetchPage(ip, port, s); rec.page(config, page, sent);
//   rec.mark('scale-down'); … rec.mark('restore');
//   out.info(rec.timeline()); const { svg } = rec.save();
// Times given to it are the clock's (performance.now()); the record keeps ms since it began.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pageOf } from './http.mjs';
import { style } from './output.mjs';
import { drillSvg, failed, tickStep } from './drill-svg.mjs';

export { failed } from './drill-svg.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./http.mjs').PageResult} PageResult */
/** @typedef {'a' | 'b'} Key */
/**
 * @typedef {{ t: number, cluster: Key | null, status: number, ms: number, error?: string }} DrillRequest
 *   t: ms since the record started, when the request was sent; cluster: whose page answered (null: none);
 *   status: the HTTP status (0 when there was no answer); ms: latency
 */
/** @typedef {{ t: number, what: 'scale-down' | 'restore' }} DrillMark */
/**
 * @typedef {{ started: string, vip: string, watchedCluster: Key, requests: DrillRequest[], marks: DrillMark[] }} DrillData
 *   started: ISO time of t = 0
 */

/** Where records go unless RUNBOOK_FAILOVER_DIR says otherwise: .runbook/failover in the runbook's folder. */
export const DEFAULT_DIR = fileURLToPath(new URL('../../.runbook/failover/', import.meta.url));

/** @param {NodeJS.ProcessEnv} env */
export const failoverDir = (env) => (env.RUNBOOK_FAILOVER_DIR?.trim() ? resolve(env.RUNBOOK_FAILOVER_DIR.trim()) : DEFAULT_DIR);

/** Cells of the timeline (it fits 80 columns with its margin). */
export const TIMELINE_WIDTH = 60;

/** Rounds ms to a tenth. @param {number} ms */
const tenth = (ms) => Math.round(ms * 10) / 10;

export class DrillRecord {
  /**
   * @param {{ vip: string, watchedCluster: Key, clock?: () => number, started?: Date }} o
   *   clock: ms, monotonic (performance.now unless given)
   */
  constructor(o) {
    this.clock = o.clock ?? (() => performance.now());
    this.t0 = this.clock();
    /** @type {DrillData} */
    this.data = { started: (o.started ?? new Date()).toISOString(), vip: o.vip, watchedCluster: o.watchedCluster, requests: [], marks: [] };
  }

  /** Ms since the record began, of a clock value (now when not given). @param {number} [at] */
  since(at = this.clock()) {
    return tenth(at - this.t0);
  }

  /**
   * Records one request.
   * @param {{ cluster: Key | null, status: number, ms: number, error?: string, sentAt?: number }} r
   *   sentAt: the clock's time when it was sent (default now minus its latency)
   */
  request(r) {
    const t = r.sentAt !== undefined ? this.since(r.sentAt) : Math.max(0, this.since() - r.ms);
    this.data.requests.push({ t, cluster: r.cluster, status: r.status, ms: tenth(r.ms), ...(r.error ? { error: r.error } : {}) });
  }

  /**
   * Records what fetchPage answered to a request sent at `sentAt` (the clock's
   * time, performance.now() unless another clock was given): its latency is
   * from then to now, its cluster the one whose page the body shows.
   * @param {Config} config
   * @param {PageResult} page
   * @param {number} sentAt
   */
  page(config, page, sentAt) {
    const ms = this.clock() - sentAt;
    if (!page.ok) return this.request({ sentAt, cluster: null, status: 0, ms, error: page.error });
    const shown = pageOf(config, page.body);
    const cluster = config.clusters.find((c) => c.echoPage === shown)?.key ?? null;
    return this.request({ sentAt, cluster, status: page.status, ms });
  }

  /** Marks a moment: now, or the clock's time `at`. @param {DrillMark['what']} what @param {number} [at] */
  mark(what, at) {
    this.data.marks.push({ t: this.since(at), what });
  }

  toJSON() {
    return this.data;
  }

  /** The timeline as text (see timeline()). @param {number} [width] */
  timeline(width) {
    return timeline(this.data, width);
  }

  /** The chart, as SVG text. */
  svg() {
    return drillSvg(this.data);
  }

  /**
   * Writes <dir>/<UTC time of the start>.json and .svg (-2, -3 … when taken).
   * @param {string} [dir] default failoverDir(process.env)
   * @returns {{ json: string, svg: string }}
   */
  save(dir = failoverDir(process.env)) {
    return saveRecord(this.data, dir);
  }
}

/**
 * @param {DrillData} data
 * @param {string} dir
 * @returns {{ json: string, svg: string }}
 */
export function saveRecord(data, dir) {
  mkdirSync(dir, { recursive: true });
  const stamp = data.started.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  for (let i = 1; ; i++) {
    const base = join(dir, i === 1 ? stamp : `${stamp}-${i}`);
    try {
      writeFileSync(`${base}.json`, `${JSON.stringify(data, null, 2)}\n`, { flag: 'wx' });
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code === 'EEXIST' && i < 100) continue;
      throw err;
    }
    writeFileSync(`${base}.svg`, drillSvg(data));
    return { json: `${base}.json`, svg: `${base}.svg` };
  }
}

/** How long the record spans, in ms (at least 1). @param {DrillData} data */
export function span(data) {
  return Math.max(1, ...data.requests.map((r) => r.t + r.ms), ...data.marks.map((m) => m.t));
}

/** "2.5 s", "12 s". @param {number} ms @param {number} stepMs */
export const seconds = (ms, stepMs) => `${(ms / 1000).toFixed(stepMs < 1000 ? 1 : 0)} s`;

/**
 * A failed request's mark: not ✘, which marks a failed action or step in the
 * runbook's output (a passed drill may have failed requests).
 */
export const FAILED = '×';

/** A cell with no request shows the answer before it when that came less than this long before (ms). */
export const CARRY_MS = 1000;

/**
 * The cells of the timeline, one character each: the cluster whose page answered
 * last in that stretch of time (A, B), × when a request there failed, ? when an
 * answer showed no known page. A cell no request fell into shows the answer
 * before it when that is under CARRY_MS old (the poll is slower than a cell is
 * wide), else · (nothing was asked).
 * @param {DrillData} data @param {number} width
 * @returns {string[]}
 */
export function timelineCells(data, width) {
  const total = span(data);
  const col = (/** @type {number} */ t) => Math.min(width - 1, Math.floor((t / total) * width));
  /** @type {(DrillRequest[])[]} */
  const cells = Array.from({ length: width }, () => []);
  for (const r of data.requests) cells[col(r.t)].push(r);
  /** @type {DrillRequest | undefined} */
  let last;
  let lastCh = '·';
  return cells.map((rs, i) => {
    if (!rs.length) return last && ((i + 1) * total) / width - last.t < CARRY_MS ? lastCh : '·';
    last = rs[rs.length - 1];
    lastCh = rs.some(failed) ? FAILED : last.cluster ? last.cluster.toUpperCase() : '?';
    return lastCh;
  });
}

/** Colours a timeline cell like the watch's strip: A cyan, B yellow, failures red. @param {string} ch */
export const colourCell = (ch) => (ch === 'A' ? style.cyan(ch) : ch === 'B' ? style.yellow(ch) : ch === FAILED ? style.red(ch) : style.dim(ch));

/**
 * The record as text: a line of cells (which cluster answered, where requests
 * failed), under it a scale with ↓ at the scale-down and ↑ at the restore, the
 * seconds, and a legend that says when the marks were and how many failed.
 * Each cell shows A or B for the cluster whose page answered.
 * @param {DrillData} data
 * @param {number} [width] cells
 * @returns {string} four lines, two spaces in
 */
export function timeline(data, width = TIMELINE_WIDTH) {
  const total = span(data);
  const col = (/** @type {number} */ t) => Math.min(width - 1, Math.floor((t / total) * width));
  const step = tickStep(total, 5);
  const ruler = Array.from({ length: width }, () => '─');
  const labels = Array.from({ length: width + 8 }, () => ' ');
  let free = 0;
  for (let t = 0; t <= total; t += step) {
    const c = col(t);
    ruler[c] = '┬';
    const text = seconds(t, step);
    if (c >= free && c + text.length <= labels.length) {
      labels.splice(c, text.length, ...text);
      free = c + text.length + 1;
    }
  }
  for (const m of data.marks) ruler[col(m.t)] = m.what === 'scale-down' ? '↓' : '↑';
  const fails = data.requests.filter(failed).length;
  const legend = [
    ...data.marks.map((m) => `${m.what === 'scale-down' ? '↓' : '↑'} ${m.what} at ${(m.t / 1000).toFixed(2)} s`),
    `${FAILED} ${fails} of ${data.requests.length} requests failed`,
  ].join(' · ');
  return [
    `  ${timelineCells(data, width).map(colourCell).join('')}`,
    `  ${style.dim(ruler.join(''))}`,
    `  ${labels.join('').trimEnd()}`,
    `  ${legend}`,
  ].join('\n');
}
