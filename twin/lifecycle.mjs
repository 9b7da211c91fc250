// @ts-check
// When a long-running twin command (npm run twin, npm run demo) must stop:
// Ctrl-C, SIGTERM, SIGHUP (the terminal closed), or the process that started
// it gone. npm killed by a signal it does not forward (SIGHUP, SIGKILL) leaves
// its child orphaned, and an orphaned twin would hold its addresses and keys
// for nobody. The npm scripts `exec` node, so npm is the parent; when a plain
// `sh -c` sits in between, the process above it is watched too.
import { readFileSync } from 'node:fs';
import { alive } from './hosting.mjs';

const SIGNALS = /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP']);
const WRAPPERS = new Set(['sh', 'dash', 'bash', 'zsh', 'ash', 'busybox']);

/** Linux: the parent of a process and its command name, or undefined. @param {number} pid */
function procInfo(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    return { comm: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(stat.slice(close + 2).split(' ')[1]) };
  } catch {
    return undefined;
  }
}


/** The processes whose end means this one should stop: the parent, and the one above a shell wrapper. */
export function watchedAncestors() {
  const parent = process.ppid;
  const out = [parent];
  const info = procInfo(parent);
  if (info && WRAPPERS.has(info.comm) && info.ppid > 1) out.push(info.ppid);
  return out;
}

/**
 * Calls `stop` once, with what asked for it; a signal a second later exits at once.
 * @param {(why: string) => unknown} stop
 * @param {{ pollMs?: number }} [o]
 */
export function onStopRequest(stop, o = {}) {
  const parent = process.ppid;
  const watched = watchedAncestors();
  let asked = 0;
  const once = (/** @type {string} */ why, force = false) => {
    if (asked) {
      // Asked again later: stop now. (Ctrl-C in a terminal arrives twice at once:
      // from the terminal and forwarded by npm.)
      if (force && Date.now() - asked > 1000) process.exit(130);
      return;
    }
    asked = Date.now();
    clearInterval(timer);
    void stop(why);
  };
  for (const s of SIGNALS) process.on(s, () => once(s, true));
  const timer = setInterval(() => {
    const gone = process.ppid !== parent ? parent : watched.find((p) => !alive(p));
    if (gone) once(`the process that started it (pid ${gone}) is gone`);
  }, o.pollMs ?? 500);
  timer.unref();
}
