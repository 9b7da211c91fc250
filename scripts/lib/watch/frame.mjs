// @ts-check
// One frame of `npm run watch`, as lines of at most 80 columns: per cluster
// Cilium, its operator, the echo pods and the mesh; per echo VIP what answers
// now and a strip of the last minute (one cell a second, the letter of the
// cluster that answered, coloured by it). Pure: the state and the time in,
// lines out, so the live view and --once print the same thing.
import { stripVTControlCharacters } from 'node:util';
import { style } from '../output.mjs';
import { expectedPages } from '../http.mjs';
import { KEEP_MS, INTERVALS } from './state.mjs';

/** @typedef {import('./state.mjs').WatchState} WatchState */
/** @typedef {import('./state.mjs').Workload} Workload */
/** @typedef {import('./state.mjs').Answer} Answer */
/** @typedef {'a' | 'b'} Key */

export const WIDTH = 80;
/** Cells of a VIP's strip: one a second. */
export const STRIP = KEEP_MS / 1000;

const OK = () => style.green('✔');
const BAD = () => style.red('✘');
const PART = () => style.yellow('◐');
const UNKNOWN = () => style.dim('…');

/** A cluster's colour, for its letter and its page. @param {Key | null} k @param {string} s */
export const inColour = (k, s) => (k === 'a' ? style.cyan(s) : k === 'b' ? style.yellow(s) : style.red(s));

/** Visible width of a line (without colour codes). @param {string} s */
export const visible = (s) => stripVTControlCharacters(s).length;

/**
 * Cuts a line to `width` visible characters (… at the cut), keeping colour codes whole.
 * @param {string} line @param {number} width
 */
export function fit(line, width) {
  if (visible(line) <= width) return line;
  let out = '';
  let n = 0;
  for (const part of line.split(/(\x1b\[[0-9;]*m)/)) {
    if (part.startsWith('\x1b[')) { out += part; continue; }
    for (const ch of part) {
      if (n === width - 1) return `${out}…${out.includes('\x1b[') ? '\x1b[0m' : ''}`;
      out += ch;
      n++;
    }
  }
  return out;
}

/** "✔ cilium 1/1", "✘ no cilium". @param {string} what @param {Workload} w @param {number} [want] */
function workload(what, w, want) {
  if (!w) return `${BAD()} no ${what}`;
  return `${w.ok ? OK() : w.ready > 0 ? PART() : BAD()} ${what} ${w.ready}/${want ?? w.want}`;
}

/**
 * An error in short, with how long it lasts: without the cluster's name, which
 * the line starts with; an API server that is not reachable (or does not
 * answer) as "not reachable (not answering) for 3 s: <its URL> — <why>".
 * @param {string} e @param {string} lasting "for 3 s"
 */
function brief(e, lasting) {
  const text = e.replace(/^cluster [AB] \(context [^)]*\): /, '');
  const gone = /^the API server at (\S+) (is not reachable|does not answer)(?: — (.*))?$/.exec(text);
  return gone ? `${gone[2] === 'does not answer' ? 'not answering' : 'not reachable'} ${lasting}: ${gone[1]}${gone[3] ? ` — ${gone[3]}` : ''}` : `${lasting}: ${text}`;
}

/** "12 s old". @param {number} at @param {number} now */
const age = (at, now) => `${Math.round((now - at) / 1000)} s old`;

/** "for 12 s" since an error began. @param {number} since @param {number} now */
const during = (since, now) => `for ${Math.max(0, Math.round((now - since) / 1000))} s`;

/**
 * The two lines of one cluster.
 * @param {WatchState} state @param {Key} k @param {number} now
 */
function clusterLines(state, k, now) {
  const c = state.cluster(k);
  const { objects, mesh } = state.clusters[k];
  const head = c.context.padEnd(11);
  const pad = ' '.repeat(Math.max(11, head.length));
  let first;
  if (!objects) first = `${UNKNOWN()} asking…`;
  else if (objects.error !== undefined) first = `${BAD()} ${brief(objects.error, during(objects.since, now))}`;
  else {
    const o = objects.value;
    first = [workload('cilium', o.cilium), workload('operator', o.operator), workload('echo pods', o.echo, state.config.echo.replicas)].join('  ');
  }
  /** @type {string[]} */
  let meshLines;
  if (!mesh) meshLines = [`${UNKNOWN()} mesh: asking…`];
  else if (mesh.error !== undefined) meshLines = [`${BAD()} mesh: ${brief(mesh.error, during(mesh.since, now))}`];
  else if (mesh.value.state === 'off') meshLines = [`${BAD()} mesh: ClusterMesh not enabled`];
  else if (mesh.value.state === 'not ready') meshLines = [`${PART()} mesh: ${mesh.value.text}`];
  else {
    // "cluster-b: agents 3/3 configured, 3/3 connected; KVStoreMesh 1/1 …": a line for each side.
    const [peer, ...rest] = mesh.value.text.split(': ');
    const sides = rest.join(': ').split('; ');
    const mark = mesh.value.ok ? OK() : PART();
    meshLines = sides.map((x, i) => (i === 0 ? `${mark} mesh → ${peer}: ${x}` : `${' '.repeat(visible(`${mark} mesh → ${peer}:`))} ${x}`));
  }
  // A poll still waiting for its answer (a cluster that does not answer at all) leaves old news: say how old.
  if (objects?.value && now - objects.at > 2 * INTERVALS.objects + 1000) first += style.dim(` (${age(objects.at, now)})`);
  if (mesh?.value && now - mesh.at > 2 * INTERVALS.mesh + 1000) meshLines[0] += style.dim(` (${age(mesh.at, now)})`);
  return [`${style.bold(head)} ${first}`, ...meshLines.map((l) => `${pad} ${l}`)];
}

/**
 * The strip of a VIP's last minute, oldest left: per second the last answer
 * sent in it (A, B, ✘ failed, ? no known page), · when none was.
 * @param {Answer[]} answers @param {number} now
 */
export function strip(answers, now) {
  /** @type {(Answer | undefined)[]} */
  const cells = Array.from({ length: STRIP }, () => undefined);
  for (const a of answers) {
    const i = STRIP - 1 - Math.floor((now - a.at) / 1000);
    if (i >= 0 && i < STRIP) cells[i] = a;
  }
  const chars = cells.map((a) => (!a ? '·' : a.error || a.status >= 400 ? '✘' : a.cluster ? a.cluster.toUpperCase() : '?'));
  // One colour code per run of equal cells, not per cell.
  return chars.join('').replace(/(.)\1*/gu, (run, ch) =>
    (ch === 'A' ? inColour('a', run) : ch === 'B' ? inColour('b', run) : ch === '·' ? style.dim(run) : style.red(run)));
}

/**
 * What a VIP answered last, in words.
 * @param {WatchState} state @param {Key} k
 */
function answerText(state, k) {
  const last = state.answers[k].at(-1);
  if (!last) return `${UNKNOWN()} asking…`;
  if (last.error) return `${BAD()} ${last.error} (${last.ms} ms)`;
  if (!last.cluster) return `${BAD()} HTTP ${last.status}, no echo page (${last.ms} ms)`;
  const from = state.cluster(last.cluster);
  const mine = expectedPages(state.config, state.cluster(k)).includes(from.echoPage);
  return `${mine ? OK() : PART()} → ${inColour(last.cluster, `${from.context} ("${from.echoPage}")`)} ${last.ms} ms`;
}

/**
 * The frame.
 * @param {WatchState} state
 * @param {{ now: number, live: boolean, width?: number }} o
 * @returns {string[]}
 */
export function frame(state, o) {
  const { a, b } = state.config;
  const width = Math.min(o.width ?? WIDTH, WIDTH);
  const time = new Date(o.now).toISOString().slice(11, 19);
  const lines = [
    `${style.bold('ClusterMesh watch')} · ${a.context} ⇄ ${b.context} · ${time} UTC · read-only${o.live ? ' · q quits' : ''}`,
    '',
  ];
  for (const k of /** @type {Key[]} */ (['a', 'b'])) lines.push(...clusterLines(state, k, o.now));
  lines.push('', style.bold(`echo VIPs — the last ${STRIP} s, one cell a second: ${inColour('a', 'A')} ${a.context}, ` +
    `${inColour('b', 'B')} ${b.context}, ${style.red('✘')} failed`));
  for (const k of /** @type {Key[]} */ (['a', 'b'])) {
    const c = state.cluster(k);
    const ip = state.clusters[k].vip;
    const where = ip ? `${ip}:${state.config.echo.servicePort}` : '';
    lines.push(`${style.bold(c.context.padEnd(11))} ${ip ? `${where} ${answerText(state, k)}` : `${BAD()} no echo VIP`}`);
    lines.push(`  ${strip(state.answers[k], o.now)}`);
  }
  const problems = state.problems();
  lines.push('', problems.length ? `${BAD()} not up: ${problems.join('; ')}` : `${OK()} all up`);
  return lines.flatMap((l, i) => wrapLast(l, width, i === lines.length - 1)).map((l) => fit(l, width));
}

/**
 * The last line (what is not up) wraps over up to four lines; others are cut.
 * @param {string} line @param {number} width @param {boolean} last
 */
function wrapLast(line, width, last) {
  if (!last || visible(line) <= width) return [line];
  const words = line.split(' ');
  /** @type {string[]} */
  const out = [''];
  for (const w of words) {
    const cur = out[out.length - 1];
    if (cur && visible(cur) + 1 + visible(w) > width) out.push(`  ${w}`);
    else out[out.length - 1] = cur ? `${cur} ${w}` : w;
  }
  return out.length > 4 ? [...out.slice(0, 3), fit(out.slice(3).join(' '), width)] : out;
}
