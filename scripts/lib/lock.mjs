// @ts-check
// One run at a time against the same pair of clusters. The lock is a file in the
// temp folder named after the kubeconfig and the two contexts, holding the
// owner's pid. A lock whose process is gone (a run killed with SIGKILL) is stale
// and taken over; so are the temp folders such a run had no chance to remove.
// Read-only modes (dry-run, transcript, status) take no lock.
import { createHash } from 'node:crypto';
import { writeFileSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** @typedef {import('./types.js').Config} Config */

export class LockError extends Error {}

/** @param {Config} config */
export function lockPath(config) {
  const key = [config.kubeconfig.split(':').map((p) => resolve(p)).join(':'), config.a.context, config.b.context].join('|');
  return join(tmpdir(), `clustermesh-runbook-${createHash('sha256').update(key).digest('hex').slice(0, 16)}.lock`);
}

/** The prefix of a run's private temp folders (the runtime's; they name the run's pid). */
export const tempPrefix = () => join(tmpdir(), `clustermesh-runbook-run-${process.pid}-`);
const TEMP = /^clustermesh-runbook-run-(\d+)-/;

/**
 * Removes the temp folders of runs that are gone: a run killed with SIGKILL
 * leaves the one of the command it was running (a values file, never a Secret).
 */
export function sweepStaleTemp() {
  sweepDead(tmpdir(), TEMP);
}

/**
 * Removes the entries of a folder whose name carries (as the pattern's first
 * group) the pid of a process that is gone.
 * @param {string} dir @param {RegExp} pattern
 */
export function sweepDead(dir, pattern) {
  let names = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(pattern.exec(n)?.[1] ?? 0);
    if (pid > 0 && pid !== process.pid && !alive(pid)) rmSync(join(dir, n), { recursive: true, force: true });
  }
}

/** @param {number} pid */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return /** @type {NodeJS.ErrnoException} */ (err).code === 'EPERM';
  }
}

/**
 * Takes the lock or throws LockError naming the run that holds it.
 * @param {Config} config
 * @param {string} what e.g. "npm run all"
 * @returns {() => void} release
 */
export function acquireLock(config, what) {
  const path = lockPath(config);
  const mine = JSON.stringify({ pid: process.pid, what, since: new Date().toISOString() });
  for (let i = 0; i < 2; i++) {
    try {
      writeFileSync(path, mine, { flag: 'wx', mode: 0o600 });
      const release = () => {
        try {
          if (readFileSync(path, 'utf8') === mine) rmSync(path);
        } catch { /* already gone */ }
      };
      process.once('exit', release);
      sweepStaleTemp();
      return release;
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST') throw err;
      let holder;
      try {
        holder = JSON.parse(readFileSync(path, 'utf8'));
      } catch {
        holder = null;
      }
      if (holder && typeof holder.pid === 'number' && holder.pid !== process.pid && alive(holder.pid)) {
        throw new LockError(
          `another run is working on ${config.a.context} and ${config.b.context}: ${holder.what} (pid ${holder.pid}, since ${holder.since}). ` +
          `Wait for it to finish, or stop it; its lock is ${path}`);
      }
      rmSync(path, { force: true }); // stale: its process is gone
    }
  }
  throw new LockError(`could not take the lock ${path}`);
}
