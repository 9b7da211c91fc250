// @ts-check
// The failover drill's record as an SVG chart, plain text: one lane per answer
// (cluster A's page, cluster B's page, failed), each request a bar from when it
// was sent to when it ended, dashed lines at the scale-down and the restore, and
// a time axis in seconds. Each bar carries a <title> (time, cluster, status,
// latency) that a browser shows on hover.

/** @typedef {import('./drill-record.mjs').DrillData} DrillData */
/** @typedef {import('./drill-record.mjs').DrillRequest} DrillRequest */

const W = 800;
const H = 260;
const LEFT = 140;
const RIGHT = 24;
const LANE_TOP = 84;
const LANE_H = 30;
const LANE_GAP = 10;
const LANES = /** @type {const} */ ([
  { id: 'a', label: 'cluster A answered', colour: '#1f77b4' },
  { id: 'b', label: 'cluster B answered', colour: '#ff7f0e' },
  { id: 'failed', label: 'failed', colour: '#d62728' },
]);
const AXIS_Y = LANE_TOP + LANES.length * (LANE_H + LANE_GAP);

/** @param {string} s */
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** @param {number} n */
const num = (n) => String(Math.round(n * 10) / 10);

/** Did a request fail (no answer, an HTTP error)? @param {DrillRequest} r */
export const failed = (r) => Boolean(r.error) || r.status < 200 || r.status >= 400;

/** An answer with no known page counts as failed here. @param {DrillRequest} r */
const failedReq = (r) => failed(r) || !r.cluster;

/** @param {DrillRequest} r */
const laneOf = (r) => (failedReq(r) ? 2 : r.cluster === 'a' ? 0 : 1);

/**
 * @param {DrillData} data
 * @returns {string} an SVG document
 */
export function drillSvg(data) {
  const total = Math.max(1, ...data.requests.map((r) => r.t + r.ms), ...data.marks.map((m) => m.t));
  const x = (/** @type {number} */ t) => LEFT + (t / total) * (W - LEFT - RIGHT);
  const laneY = (/** @type {number} */ i) => LANE_TOP + i * (LANE_H + LANE_GAP);
  const fails = data.requests.filter(failedReq).length;
  const who = data.watchedCluster.toUpperCase();
  /** @type {string[]} */
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="bold">${esc(`Failover drill: cluster ${who}'s VIP ${data.vip}`)}</text>`,
    `<text x="12" y="40" fill="#555555">${esc(`${data.started} · ${data.requests.length} requests, ${fails} failed`)}</text>`,
  ];
  LANES.forEach((lane, i) => {
    parts.push(`<rect x="${LEFT}" y="${laneY(i)}" width="${W - LEFT - RIGHT}" height="${LANE_H}" fill="#f4f4f4"/>`,
      `<text x="${LEFT - 8}" y="${laneY(i) + LANE_H / 2 + 4}" text-anchor="end">${esc(lane.label)}</text>`);
  });
  for (const r of data.requests) {
    const i = laneOf(r);
    const what = failedReq(r) ? (r.error ?? `HTTP ${r.status}`) : `cluster ${r.cluster?.toUpperCase()}, HTTP ${r.status}`;
    parts.push(`<rect class="request" x="${num(x(r.t))}" y="${laneY(i) + 3}" width="${num(Math.max(2, x(r.t + r.ms) - x(r.t)))}" ` +
      `height="${LANE_H - 6}" fill="${LANES[i].colour}"><title>${esc(`${(r.t / 1000).toFixed(2)} s: ${what}, ${r.ms} ms`)}</title></rect>`);
  }
  const step = tickStep(total, 8);
  parts.push(`<line x1="${LEFT}" y1="${AXIS_Y}" x2="${W - RIGHT}" y2="${AXIS_Y}" stroke="#333333"/>`);
  for (let t = 0; t <= total; t += step) {
    parts.push(`<line x1="${num(x(t))}" y1="${AXIS_Y}" x2="${num(x(t))}" y2="${AXIS_Y + 5}" stroke="#333333"/>`,
      `<text x="${num(x(t))}" y="${AXIS_Y + 18}" text-anchor="middle">${(t / 1000).toFixed(step < 1000 ? 1 : 0)} s</text>`);
  }
  data.marks.forEach((m, i) => {
    const mx = num(x(m.t));
    parts.push(`<g class="mark" data-what="${esc(m.what)}">`,
      `<line x1="${mx}" y1="${LANE_TOP - 22 + (i % 2) * 12}" x2="${mx}" y2="${AXIS_Y}" stroke="#000000" stroke-dasharray="4 3"/>`,
      `<text x="${mx}" y="${LANE_TOP - 26 + (i % 2) * 12}" text-anchor="middle">${esc(`${m.what} ${(m.t / 1000).toFixed(2)} s`)}</text>`,
      '</g>');
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}

/**
 * A round step for at most `n` ticks over `total` ms.
 * @param {number} total @param {number} n
 */
export function tickStep(total, n) {
  const steps = [100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000];
  return steps.find((s) => total / s <= n) ?? Math.ceil(total / n / 60_000) * 60_000;
}
