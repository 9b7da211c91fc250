// @ts-check
// Cron schedules as a CronJob's spec.schedule has them (robfig/cron's standard
// parser: five fields, names of months and weekdays, ranges, steps, lists and
// the @yearly … @hourly descriptors), evaluated in UTC. When both day fields are
// restricted a day matching either one counts, as in cron.

const DESCRIPTORS = /** @type {Record<string, string>} */ ({
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
});
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/**
 * @param {string} field @param {number} min @param {number} max @param {string[]} [names] (index + min)
 * @returns {Set<number> | undefined}
 */
function parseField(field, min, max, names) {
  const out = new Set();
  /** @param {string} s */
  const num = (s) => {
    const i = names ? names.indexOf(s.toLowerCase()) : -1;
    return i >= 0 ? i + min : /^\d+$/.test(s) ? Number(s) : NaN;
  };
  for (const part of field.split(',')) {
    const m = /^(\*|\?|[^-/]+)(?:-([^/]+))?(?:\/(\d+))?$/.exec(part);
    if (!m) return undefined;
    const star = m[1] === '*' || m[1] === '?';
    const lo = star ? min : num(m[1]);
    const hi = star ? max : m[2] !== undefined ? num(m[2]) : m[3] !== undefined ? max : lo;
    const step = m[3] !== undefined ? Number(m[3]) : 1;
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < min || hi > max || lo > hi || step < 1) return undefined;
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/**
 * @typedef {{ minute: Set<number>, hour: Set<number>, dom: Set<number>, month: Set<number>, dow: Set<number>, domStar: boolean, dowStar: boolean }} Cron
 */

/** @param {string} schedule @returns {Cron | undefined} */
export function parseCron(schedule) {
  let s = String(schedule ?? '').trim().replace(/^(CRON_)?TZ=\S+\s+/, '');
  s = DESCRIPTORS[s] ?? s;
  const f = s.split(/\s+/);
  if (f.length !== 5) return undefined;
  const minute = parseField(f[0], 0, 59);
  const hour = parseField(f[1], 0, 23);
  const dom = parseField(f[2], 1, 31);
  const month = parseField(f[3], 1, 12, MONTHS);
  const dow = parseField(f[4].replace(/\b7\b/g, '0'), 0, 6, DAYS);
  if (!minute || !hour || !dom || !month || !dow) return undefined;
  return { minute, hour, dom, month, dow, domStar: /^[*?]/.test(f[2]), dowStar: /^[*?]/.test(f[4]) };
}

/** @param {Cron} c @param {Date} d */
function dayMatches(c, d) {
  const dom = c.dom.has(d.getUTCDate());
  const dow = c.dow.has(d.getUTCDay());
  return c.domStar || c.dowStar ? dom && dow : dom || dow;
}

/**
 * The first scheduled minute strictly after `afterMs`, or undefined past `limitMs`.
 * @param {Cron} c @param {number} afterMs @param {number} limitMs
 */
export function nextAfter(c, afterMs, limitMs) {
  const d = new Date(Math.floor(afterMs / 60_000) * 60_000 + 60_000);
  while (d.getTime() <= limitMs) {
    if (!c.month.has(d.getUTCMonth() + 1)) {
      d.setUTCMonth(d.getUTCMonth() + 1, 1);
      d.setUTCHours(0, 0, 0, 0);
    } else if (!dayMatches(c, d)) {
      d.setUTCDate(d.getUTCDate() + 1);
      d.setUTCHours(0, 0, 0, 0);
    } else if (!c.hour.has(d.getUTCHours())) {
      d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
    } else if (!c.minute.has(d.getUTCMinutes())) {
      d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
    } else {
      return d.getTime();
    }
  }
  return undefined;
}
