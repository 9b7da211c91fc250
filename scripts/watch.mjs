#!/usr/bin/env node
// @ts-check
/**
 * Watch — both clusters and their echo VIPs, live
 *
 * A read-only view for a second terminal: per cluster Cilium and its operator
 * ready, the mesh (each side's peer, with configured and connected nodes as
 * `cilium clustermesh status` counts them) and the echo pods ready; per echo VIP
 * what answers right now (which cluster's page, the latency, or the error) and
 * a strip of the last minute of answers, one cell a second, coloured by the
 * cluster that answered. Run step 09 in another terminal and watch B's VIP
 * switch to cluster A when B's pods go, and back (on the twin: `npm run twin`
 * prints the settings both terminals use).
 *
 * It only reads (kubectl get, cilium clustermesh status, HTTP GETs of the VIPs),
 * asks each object at most once a second, takes no lock, and keeps going when a
 * cluster goes away (showing since when). q or Ctrl-C quits.
 *
 *   --once    print one frame and exit: 0 when everything is up, 3 otherwise
 *
 * Without a terminal it prints a frame every 10 s. Exit codes: 0 quit (or all
 * up with --once), 3 not all up (--once), 2 bad input, 130 stopped by a signal.
 */
import { parseArgs, scriptHelp, UsageError } from './lib/cli.mjs';
import { loadConfig, ConfigError } from './lib/config.mjs';
import { Runtime } from './lib/runtime.mjs';
import { which } from 'zx';
import { out } from './lib/output.mjs';
import { WatchState } from './lib/watch/state.mjs';
import { frame } from './lib/watch/frame.mjs';
import { liveScreen } from './lib/watch/screen.mjs';

/** Seconds a kubectl or cilium call of the watch may run before it is killed. */
const CALL_DEADLINE = 15;
/** How often frames are printed without a terminal (ms). */
const PLAIN_EVERY = 10_000;

/** @returns {Promise<number>} */
async function main() {
  const args = parseArgs(process.argv.slice(2), { flags: ['once'] });
  if (args.help) {
    out.info(scriptHelp(import.meta.url, 'npm run watch [-- --once]   (or node scripts/watch.mjs [--once])'));
    return 0;
  }
  if (args.dryRun || args.transcript) throw new UsageError('watch only reads: no --dry-run or --transcript');
  const config = loadConfig();
  const missing = /** @type {const} */ (['kubectl', 'cilium']).filter((t) => !which.sync(t, { nothrow: true }));
  if (missing.length) throw new UsageError(`${missing.join(' and ')}: not found on PATH (npm run twin prints a PATH for the twin)`);
  out.info(`settings: ${config.envFile ?? 'no env file (no .env here); defaults and the environment'}`);

  const once = args.flags.has('once');
  const ac = new AbortController();
  // No retries: the next poll is the retry, and a gone cluster shows at once.
  const rt = new Runtime({ config, mode: 'run', signal: ac.signal, retries: once ? 2 : 0, bounds: { plain: CALL_DEADLINE, margin: 5 } });
  const state = new WatchState(config);
  if (once) {
    await state.pollOnce(rt);
    for (const line of frame(state, { now: Date.now(), live: false })) out.info(line);
    return state.problems().length ? 3 : 0;
  }
  if (!process.stdout.isTTY) return plain(state, rt, ac);

  /** @type {(code: number) => void} */
  let done = () => {};
  const finished = new Promise((resolve) => { done = resolve; });
  const screen = liveScreen({
    stdout: process.stdout, stdin: process.stdin,
    onQuit: (why) => {
      ac.abort(new Error(`quit (${why})`));
      done(why === 'key' ? 0 : 130);
    },
  });
  const draw = () => screen.draw(frame(state, { now: Date.now(), live: true, width: screen.columns() }));
  let queued = false;
  state.onChange = () => {
    if (queued) return;
    queued = true;
    setTimeout(() => { queued = false; draw(); }, 50); // polls that end together, one redraw
  };
  process.stdout.on('resize', draw);
  const tick = setInterval(draw, 1000); // the clock and the strip move on without news
  draw();
  state.run(rt, ac.signal);
  const code = await finished;
  clearInterval(tick);
  return code;
}

/**
 * Without a terminal: a frame every PLAIN_EVERY ms until a signal.
 * @param {WatchState} state @param {Runtime} rt @param {AbortController} ac
 * @returns {Promise<number>}
 */
async function plain(state, rt, ac) {
  const print = () => out.info(`${frame(state, { now: Date.now(), live: false }).join('\n')}\n`);
  const timer = setInterval(print, PLAIN_EVERY);
  const stopped = new Promise((resolve) => {
    for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) process.once(sig, () => resolve(130));
  });
  await state.pollOnce(rt);
  print();
  state.run(rt, ac.signal);
  const code = /** @type {number} */ (await stopped);
  clearInterval(timer);
  ac.abort(new Error('stopped'));
  return code;
}

try {
  process.exitCode = await main();
} catch (err) {
  if (!(err instanceof ConfigError || err instanceof UsageError)) throw err;
  out.error(err.message);
  process.exitCode = 2;
}
// The polls' timers and processes end with the abort; leave no straggler behind.
process.exit();
