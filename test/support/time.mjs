// @ts-check
// One factor for every deadline of the tests: the harness's kill timeout, the
// waits for events, ava's timeout. TEST_TIME_FACTOR sets it (default 1); at
// test start it is raised to 1 + the load per CPU (os.loadavg()[0] divided by
// os.cpus().length) when that is higher, at most MAX_AUTO. ava.config.mjs resolves it
// once and hands it on through the environment, so every worker (and every file
// run alone) uses the same number.
import { cpus, loadavg } from 'node:os';

const MAX_AUTO = 10;

/**
 * The factor and why, from an environment (TEST_TIME_FACTOR and, once resolved,
 * TEST_TIME_FACTOR_WHY).
 * @param {NodeJS.ProcessEnv} env
 * @returns {{ factor: number, why: string }}
 * @throws {Error} when TEST_TIME_FACTOR is not a positive number
 */
export function resolveTimeFactor(env) {
  const raw = env.TEST_TIME_FACTOR?.trim();
  const given = raw ? Number(raw) : 1;
  if (!Number.isFinite(given) || given <= 0) {
    throw new Error(`TEST_TIME_FACTOR=${raw}: give a positive number (2 doubles every test deadline), or unset it`);
  }
  if (env.TEST_TIME_FACTOR_WHY) return { factor: given, why: env.TEST_TIME_FACTOR_WHY };
  const n = cpus().length || 1;
  const load = loadavg()[0];
  const auto = Math.min(MAX_AUTO, Math.round((1 + load / n) * 10) / 10);
  if (auto > given) return { factor: auto, why: `raised for a load of ${load.toFixed(1)} on ${n} CPUs` };
  return { factor: given, why: raw ? 'TEST_TIME_FACTOR' : 'default' };
}

/**
 * Resolves the factor into env (TEST_TIME_FACTOR and TEST_TIME_FACTOR_WHY), for
 * processes started from it.
 * @param {NodeJS.ProcessEnv} env
 */
export function settleTimeFactor(env) {
  const r = resolveTimeFactor(env);
  env.TEST_TIME_FACTOR = String(r.factor);
  env.TEST_TIME_FACTOR_WHY = r.why;
  return r;
}

const resolved = settleTimeFactor(process.env);

/** This process's factor. */
export const timeFactor = resolved.factor;

/** A deadline of `ms` on an unloaded machine, scaled. @param {number} ms */
export const scaled = (ms) => Math.round(ms * timeFactor);

/** A tool's timeout flag value ("23s") for `s` seconds on an unloaded machine. @param {number} s */
export const scaledSeconds = (s) => `${Math.ceil(s * timeFactor)}s`;

/** For messages: "240 s (time factor 2, raised for a load of 1.2 on 2 CPUs)". @param {number} ms */
export const describeDeadline = (ms) => `${Math.round(ms / 100) / 10} s (time factor ${timeFactor}, ${resolved.why})`;

/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls until fn returns a truthy value; throws naming `what` and the scaled
 * deadline once `ms` (on an unloaded machine) has passed.
 * @template T
 * @param {() => T | Promise<T>} fn
 * @param {string} what
 * @param {number} [ms]
 * @param {number} [everyMs]
 * @returns {Promise<NonNullable<Awaited<T>>>}
 */
export async function waitFor(fn, what, ms = 3000, everyMs = 5) {
  const limit = scaled(ms);
  const end = Date.now() + limit;
  for (;;) {
    const v = await fn();
    if (v) return /** @type {NonNullable<Awaited<T>>} */ (v);
    if (Date.now() > end) throw new Error(`timed out after ${describeDeadline(limit)} waiting for ${what}`);
    await sleep(everyMs);
  }
}
