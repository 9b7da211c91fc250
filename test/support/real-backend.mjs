// @ts-check
// The frame every test/real file shares: its tests skip, saying so, when a
// binary they need is not built; otherwise one real-backend cluster is started
// before them and stopped after; the real kubectl runs against it with a
// discovery cache of the file's own, and `until` polls it within a scaled deadline.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectl } from './kubectl.mjs';
import { describeDeadline, scaled } from './time.mjs';

/** @typedef {import('../../tools/real-backend/cluster.mjs').RealCluster} RealCluster */

/**
 * @template {{ kubeconfig: string, stop: () => Promise<void> }} [T=RealCluster]
 * @param {string[]} missing binaries not built ("kwok v0.8.0"): every test skips
 * @param {(dir: string) => Promise<T>} start starts the cluster (or backend) in a new temp folder (removed by its stop)
 */
export function realBackend(missing, start) {
  if (missing.length) console.log(`test/real: skipped: ${missing.join(', ')} not built (npm run build:real builds them when Go is there)`);
  /** @type {T | undefined} */
  let cluster;
  const cacheDir = mkdtempSync(join(tmpdir(), 'real-kubectl-cache-'));
  test.before(async () => {
    if (!missing.length) cluster = await start(mkdtempSync(join(tmpdir(), 'real-cluster-')));
  });
  test.after.always(async () => {
    await cluster?.stop();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  /** @param {string[]} args @param {string} [input] */
  const k = (args, input) => kubectl(args, { kubeconfig: cluster?.kubeconfig ?? '', cacheDir, input });

  /**
   * kubectl `args` until its output satisfies `ok`, within a scaled deadline; the last output.
   * @param {string[]} args @param {(out: string) => boolean} ok @param {number} [ms] unscaled deadline
   */
  async function until(args, ok, ms = 60_000) {
    const limit = scaled(ms);
    const deadline = Date.now() + limit;
    let last = '';
    while (Date.now() < deadline) {
      const r = await k(args);
      last = `${r.stdout}${r.stderr}`;
      if (r.code === 0 && ok(r.stdout)) return r.stdout;
      await new Promise((res) => setTimeout(res, 300));
    }
    throw new Error(`kubectl ${args.join(' ')}: not as expected after ${describeDeadline(limit)}; last output:\n${last}`);
  }

  return {
    /** test.serial, or test.serial.skip when a binary is missing */
    real: missing.length ? test.serial.skip : test.serial,
    k,
    until,
    /** The running cluster (in a test that runs, after `before`). */
    cluster: () => /** @type {T} */ (cluster),
  };
}
