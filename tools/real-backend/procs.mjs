// @ts-check
// The real backend's server processes: each one logs to a file of its own,
// is stopped with SIGTERM then SIGKILL past a deadline, and is killed when
// this Node process exits, so no etcd or apiserver outlives the run.
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, appendFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** @type {Set<import('node:child_process').ChildProcess>} */
const running = new Set();
process.on('exit', () => { for (const c of running) c.kill('SIGKILL'); });

/**
 * A free TCP port on a loopback address (bound, read, released).
 * @param {string} host 127.x.y.z @returns {Promise<number>}
 */
export function freePort(host) {
  if (!host.startsWith('127.')) throw new Error(`${host} is not a loopback address`);
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = /** @type {import('node:net').AddressInfo} */ (s.address()).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * @typedef {object} Proc
 * @property {string} name
 * @property {number} pid
 * @property {string} log path of its log file
 * @property {Promise<number | null>} exited resolves with the exit code (null after a signal)
 * @property {() => boolean} alive
 * @property {(n?: number) => string} tail the last n lines of its log
 * @property {(ms?: number) => Promise<void>} stop SIGTERM, SIGKILL after ms
 */

/**
 * Starts a server process with its output in `log`.
 * @param {string} name @param {string} bin @param {string[]} args @param {string} log
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {Proc}
 */
export function startProcess(name, bin, args, log, env = process.env) {
  const fd = openSync(log, 'a', 0o600);
  const child = spawn(bin, args, { env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  running.add(child);
  let code = /** @type {number | null | undefined} */ (undefined);
  const exited = new Promise((resolve) => {
    child.on('exit', (c) => { code = c; running.delete(child); resolve(c); });
    child.on('error', (e) => {
      appendFileSync(log, `${name}: ${e.message}\n`); // e.g. spawn ENOENT: the log says why it never ran
      code = -1; running.delete(child); resolve(-1);
    });
  });
  const tail = (n = 20) => {
    try { return readFileSync(log, 'utf8').trimEnd().split('\n').slice(-n).join('\n'); } catch { return ''; }
  };
  return {
    name, pid: child.pid ?? -1, log, exited, tail,
    alive: () => code === undefined,
    async stop(ms = 10_000) {
      if (code !== undefined) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), ms);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * Waits until `ready()` answers true, failing early when the process exits and
 * late past `ms`, with the end of its log either way.
 * @param {Proc} p @param {() => Promise<boolean>} ready @param {number} ms
 */
export async function waitReady(p, ready, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!p.alive()) throw new Error(`${p.name} exited before it was ready; the end of its log (${p.log}):\n${p.tail()}`);
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${p.name} not ready after ${Math.round(ms / 1000)} s; the end of its log (${p.log}):\n${p.tail()}`);
    await Promise.race([new Promise((r) => setTimeout(r, 250)), p.exited]);
  }
}
