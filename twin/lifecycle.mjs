// @ts-check
// When a long-running twin command (npm run twin, npm run demo) must stop:
// Ctrl-C, SIGTERM, SIGHUP (the terminal closed), or its parent gone — npm
// killed with a signal it does not forward leaves its child orphaned, and an
// orphaned twin would hold its addresses for nobody.

const SIGNALS = /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP']);

/**
 * Calls `stop` once, with what asked for it; a second signal exits at once.
 * @param {(why: string) => unknown} stop
 * @param {{ pollMs?: number }} [o]
 */
export function onStopRequest(stop, o = {}) {
  const parent = process.ppid;
  let asked = false;
  const once = (/** @type {string} */ why, force = false) => {
    if (asked) {
      if (force) process.exit(130); // asked twice: stop now
      return;
    }
    asked = true;
    clearInterval(timer);
    void stop(why);
  };
  for (const s of SIGNALS) process.on(s, () => once(s, true));
  const timer = setInterval(() => { if (process.ppid !== parent) once(`its parent process ${parent} is gone`); }, o.pollMs ?? 500);
  timer.unref();
}
