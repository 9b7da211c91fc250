// @ts-check
// Helpers for e2e tests that compare runs on different twins and interrupt runs:
// the end state with the twin's own network and CA factored out, the runbook's
// lock file for a twin, a limit on how many twins a file runs at once, and
// waiting for a condition on the stores.
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { lockPath } from '../../scripts/lib/lock.mjs';
import { endState, e2eTwin } from './e2e.mjs';
import { waitFor } from './time.mjs';

/** @typedef {import('./e2e.mjs').E2E} E2E */

/**
 * endState(h) in a form that runs on different twins can be compared by: the
 * twin's 127.N network becomes 127.N, and the CA (random per twin) becomes
 * whether both clusters hold the same one.
 * @param {E2E} h
 */
export function comparableState(h) {
  const s = endState(h);
  const sameCa = Boolean(s.a.ca) && s.a.ca === s.b.ca;
  const text = JSON.stringify({ ...s, a: { ...s.a, ca: sameCa ? 'shared' : s.a.ca }, b: { ...s.b, ca: sameCa ? 'shared' : s.b.ca } });
  return JSON.parse(text.replaceAll(`"${h.net}.`, '"127.N.'));
}

/**
 * The lock file all.mjs takes for this twin's kubeconfig and contexts.
 * @param {E2E} h
 */
export function lockFileOf(h) {
  return lockPath(/** @type {any} */ ({
    kubeconfig: h.vars.KUBECONFIG, a: { context: h.vars.CLUSTER_A_CONTEXT }, b: { context: h.vars.CLUSTER_B_CONTEXT },
  }));
}

/**
 * The lock file's holder, or null when there is no lock.
 * @param {E2E} h
 * @returns {{ pid: number, what: string, since: string } | null}
 */
export function lockHolder(h) {
  const path = lockFileOf(h);
  if (!existsSync(path)) return null;
  return JSON.parse(readFileSync(path, 'utf8'));
}

/**
 * At most n bodies at a time (twins are CPU-heavy: a file that starts all its
 * tests' twins at once on 2 cores makes every wait in them slow).
 * @param {number} n
 */
export function slots(n) {
  let free = n;
  /** @type {Array<() => void>} */
  const queue = [];
  /**
   * @template T
   * @param {() => Promise<T>} fn
   * @returns {Promise<T>}
   */
  return async function run(fn) {
    if (free > 0) free--;
    else await new Promise((resolve) => queue.push(() => resolve(undefined)));
    try {
      return await fn();
    } finally {
      const next = queue.shift();
      if (next) next();
      else free++;
    }
  };
}

/**
 * Polls until pred() is true; throws with `what` after timeoutMs (on an unloaded machine, scaled by the time factor).
 * @param {() => boolean} pred
 * @param {string} what
 * @param {number} [timeoutMs]
 */
export async function until(pred, what, timeoutMs = 10_000) {
  await waitFor(pred, what, timeoutMs);
}

/**
 * Cilium's Helm release Secrets on a cluster: "v<N> <status>", oldest first.
 * @param {E2E} h @param {'a' | 'b'} k
 */
export function helmStatuses(h, k) {
  return h.store(k).list('/secrets', 'kube-system')
    .filter((s) => s.metadata.labels?.owner === 'helm' && s.metadata.labels?.name === 'cilium')
    .map((s) => ({ version: Number(s.metadata.labels?.version), status: String(s.metadata.labels?.status) }))
    .sort((x, y) => x.version - y.version);
}

/**
 * A test file's reference: `npm run all` uninterrupted on a twin of its own,
 * started on first use, read once and shared by the file's tests; its twin stops
 * after the file.
 * @template T
 * @param {ReturnType<typeof slots>} slot the file's limit on concurrent twins
 * @param {(h: E2E) => T} read what to keep of the finished run
 * @returns {() => Promise<T>}
 */
export function referenceRun(slot, read) {
  /** @type {Array<() => unknown>} */
  const teardowns = [];
  test.after.always(async () => {
    for (const f of teardowns.splice(0)) await f();
  });
  /** @type {Promise<T> | undefined} */
  let result;
  return () => (result ??= slot(async () => {
    const h = await e2eTwin({ teardown: (f) => teardowns.push(f) });
    const r = await h.run('all.mjs');
    if (r.code !== 0) throw new Error(`the uninterrupted reference run failed:\n${r.output}`);
    return read(h);
  }));
}
