// @ts-check
// What a twin owns on this machine. Its addresses: a second octet N of its own
// (127.N.x.y) for node IPs, mesh IPs and app pools, claimed with a lock file
// naming the twin's pid (a claim whose process is gone is taken over; stop()
// and process exit release it), and checked free before it is used, so two
// twins never serve the same address. Its temp folder: cluster-twin-<pid>-*,
// removed on stop; those of twins whose process is gone are swept at start.
import { mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { holderOf } from './port-holder.mjs';

/** Lock files of claimed nets, one per N. */
export const NETS_DIR = join(tmpdir(), 'clustermesh-twin-nets');
/** Second octets for twins that claim one (tests and the benchmark use fixed ones above 27). */
export const NET_RANGE = /** @type {const} */ ([1, 27]);
export const MESH_PORT = 2379;
export const MESH_NODEPORT = 32379;
export const ECHO_PORT = 8080;
const TWIN_DIR = /^cluster-twin-(\d+)-/;

/**
 * Where a twin under 127.N puts things.
 * @param {string} net e.g. "127.5"
 */
export function netLayout(net) {
  return {
    nodeIpBase: { a: `${net}.10.1`, b: `${net}.20.1` },
    meshIp: { a: `${net}.254.220`, b: `${net}.254.221` },
    appPool: { a: [`${net}.254.230`, `${net}.254.239`], b: [`${net}.254.240`, `${net}.254.249`] },
  };
}

/**
 * Every ip:port the runbook makes a twin under `net` serve: the clustermesh
 * NodePort on each node, 2379 on the mesh IPs, the echo port on the app pools.
 * @param {string} net @param {number} nodeCount
 * @returns {Array<{ ip: string, port: number }>}
 */
export function servedAddresses(net, nodeCount) {
  const l = netLayout(net);
  const out = [];
  for (const base of Object.values(l.nodeIpBase)) {
    const [p, last] = [base.slice(0, base.lastIndexOf('.')), Number(base.split('.')[3])];
    for (let i = 0; i < nodeCount; i++) out.push({ ip: `${p}.${last + i}`, port: MESH_NODEPORT });
  }
  for (const ip of Object.values(l.meshIp)) out.push({ ip, port: MESH_PORT });
  for (const [start, stop] of Object.values(l.appPool)) {
    const p = start.slice(0, start.lastIndexOf('.'));
    for (let i = Number(start.split('.')[3]); i <= Number(stop.split('.')[3]); i++) out.push({ ip: `${p}.${i}`, port: ECHO_PORT });
  }
  return out;
}

/** @param {number} pid */
export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return /** @type {NodeJS.ErrnoException} */ (err).code === 'EPERM';
  }
}

/**
 * Takes the lock file unless a live process holds it.
 * @param {string} file @param {string} mine
 */
function take(file, mine) {
  for (let i = 0; i < 2; i++) {
    try {
      writeFileSync(file, mine, { flag: 'wx', mode: 0o600 });
      return true;
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST') throw err;
    }
    let pid = 0;
    try { pid = Number(JSON.parse(readFileSync(file, 'utf8')).pid) || 0; } catch { /* being written, or garbage */ }
    let old = false;
    try { old = Date.now() - statSync(file).mtimeMs > 60_000; } catch { continue; /* just released */ }
    if (pid ? alive(pid) : !old) return false;
    rmSync(file, { force: true }); // its twin is gone
  }
  return false;
}

/**
 * The first address of the list that something else listens on.
 * @param {Array<{ ip: string, port: number }>} addrs
 * @returns {Promise<{ ip: string, port: number, error: string } | undefined>}
 */
async function firstTaken(addrs) {
  const results = await Promise.all(addrs.map(({ ip, port }) => new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', (err) => resolve({ ip, port, error: /** @type {NodeJS.ErrnoException} */ (err).code ?? String(err) }));
    s.listen({ host: ip, port, exclusive: true }, () => s.close(() => resolve(undefined)));
  })));
  return results.find(Boolean);
}

/**
 * @typedef {{ n: number, net: string, release(): void }} NetClaim
 */

/**
 * Claims a free 127.N for a twin whose addresses are all free.
 * @param {{ nodeCount: number, range?: readonly [number, number] }} o
 * @returns {Promise<NetClaim>}
 */
export async function claimNet(o) {
  const [first, last] = o.range ?? NET_RANGE;
  mkdirSync(NETS_DIR, { recursive: true, mode: 0o700 });
  const mine = JSON.stringify({ pid: process.pid, since: new Date().toISOString() });
  /** @type {string[]} */
  const busy = [];
  for (let n = first; n <= last; n++) {
    const file = join(NETS_DIR, String(n));
    if (!take(file, mine)) {
      busy.push(`127.${n}: claimed by another twin (${file})`);
      continue;
    }
    const release = () => {
      try { if (readFileSync(file, 'utf8') === mine) rmSync(file); } catch { /* gone */ }
    };
    const taken = await firstTaken(servedAddresses(`127.${n}`, o.nodeCount));
    if (!taken) {
      process.once('exit', release);
      return { n, net: `127.${n}`, release: () => { process.off('exit', release); release(); } };
    }
    release();
    busy.push(`127.${n}: ${taken.ip}:${taken.port} is ${taken.error === 'EADDRINUSE'
      ? `in use by ${holderOf(taken.ip, taken.port)}` : `not usable (${taken.error})`}`);
  }
  const shown = busy.length > 4 ? [...busy.slice(0, 3), `… and ${busy.length - 3} more`] : busy;
  throw new Error(`no free address range for the twin in 127.${first}–127.${last}.0.0/16:\n  ${shown.join('\n  ')}`);
}

/** A new temp folder for a twin of this process (cluster-twin-<pid>-XXXXXX). */
export function twinTempDir() {
  return mkdtemp(join(tmpdir(), `cluster-twin-${process.pid}-`));
}

/** Removes the temp folders of twins whose process is gone. */
export function sweepStaleTwinDirs() {
  /** @type {string[]} */
  let names = [];
  try { names = readdirSync(tmpdir()); } catch { return; }
  for (const name of names) {
    const pid = Number(TWIN_DIR.exec(name)?.[1] ?? 0);
    if (pid > 0 && pid !== process.pid && !alive(pid)) {
      try { rmSync(join(tmpdir(), name), { recursive: true, force: true }); } catch { /* another user's */ }
    }
  }
}
