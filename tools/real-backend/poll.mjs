// @ts-check
// The loop of the real backend's stand-ins (operator-watch, certgen-watch,
// volume-gate): a tick once a second, never two at once, a failed tick logged
// in one line and tried again on the next, and stop() waiting for the tick
// under way.

/**
 * @param {(stopped: () => boolean) => Promise<void>} tick stopped: whether stop() was called (to end a long tick early)
 * @param {(line: string) => void} log @param {string} what prefix of a failure's line
 * @returns {{ stop: () => Promise<void> }}
 */
export function everySecond(tick, log, what) {
  let stopped = false;
  let busy = false;
  /** @type {Promise<void>} */
  let running = Promise.resolve();
  const timer = setInterval(() => {
    if (busy || stopped) return;
    busy = true;
    running = tick(() => stopped)
      .catch((e) => log(`${what}: ${/** @type {Error} */ (e).message.split('\n')[0]}`))
      .finally(() => { busy = false; });
  }, 1000);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
