// @ts-check
// Checks that ask the same question share one answer. While the executor runs
// checks (rt.checking), a read-only probe with the same command line as one
// asked since the last change gets that one's answer, finished or still under
// way. Any change or wait (a command that is not a probe, or code the executor
// runs) starts afresh. Steps never share reads by hand: this is the one place.
import { AsyncLocalStorage } from 'node:async_hooks';

/** @typedef {{ stdout: string, stderr: string }} Output */

/** @type {AsyncLocalStorage<boolean>} */
const scope = new AsyncLocalStorage();

/** Whether the code running now is a check. */
export const inCheck = () => scope.getStore() === true;

/** Runs fn as a check (its probes may share answers). @template T @param {() => Promise<T>} fn */
export const asCheck = (fn) => scope.run(true, fn);

/** Runs fn as a change or a wait (its probes read afresh). @template T @param {() => Promise<T>} fn */
export const asChange = (fn) => scope.run(false, fn);

export class SharedReads {
  constructor() {
    /** @type {Map<string, Promise<Output>>} */
    this.answers = new Map();
    /** Probes answered from another check's read (the benchmark and tests read it). */
    this.shared = 0;
  }

  /** Something changed or waited: answers read before it no longer count. */
  changed() {
    this.answers.clear();
  }

  /**
   * The answer to `key`, read once per generation.
   * @param {string} key the probe's command line and environment
   * @param {() => Promise<Output>} read
   */
  get(key, read) {
    const known = this.answers.get(key);
    if (known) {
      this.shared++;
      return known;
    }
    const p = read();
    this.answers.set(key, p);
    return p;
  }
}
