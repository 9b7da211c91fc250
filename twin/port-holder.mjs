// @ts-check
// Who listens on an address: the process holding a TCP listener on ip:port (or
// on the wildcard address and that port), found as `ss -ltnp` finds it — the
// socket's inode in /proc/net/tcp{,6}, then the process whose fd points at it.
// Linux only; elsewhere, or for another user's process, it says it cannot tell.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

const LISTEN = '0A';

/** "0100007F:1F90" (little-endian IPv4) -> ["127.0.0.1", 8080]. @param {string} hex */
function v4(hex) {
  const [a, p] = hex.split(':');
  const n = Number.parseInt(a, 16);
  return { ip: [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.'), port: Number.parseInt(p, 16) };
}

/** IPv6 as /proc prints it: the wildcard, or a v4-mapped address, else null. @param {string} hex */
function v6(hex) {
  const [a, p] = hex.split(':');
  const port = Number.parseInt(p, 16);
  if (/^0{32}$/.test(a)) return { ip: '0.0.0.0', port };
  if (/^0{16}FFFF0000/i.test(a)) return { ip: v4(`${a.slice(24)}:0`).ip, port };
  return null;
}

/**
 * Inodes of the listening sockets that hold ip:port, with the address each listens on.
 * @param {string} ip @param {number} port @returns {Map<string, string>}
 */
function listenerInodes(ip, port) {
  /** @type {Map<string, string>} */
  const out = new Map();
  for (const [file, parse] of /** @type {const} */ ([['/proc/net/tcp', v4], ['/proc/net/tcp6', v6]])) {
    let text = '';
    try { text = readFileSync(file, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== LISTEN) continue;
      const local = parse(f[1]);
      if (local && local.port === port && (local.ip === ip || local.ip === '0.0.0.0')) out.set(f[9], local.ip);
    }
  }
  return out;
}

/** @param {number} pid */
function commandOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').replace(/\s+/g, ' ').slice(0, 120);
  } catch {
    return '';
  }
}

/**
 * The process listening on ip:port, as "pid 1234 (node twin/serve.mjs)", with
 * ", listening on 0.0.0.0:8080" when it holds the port on every address.
 * @param {string} ip @param {number} port
 * @returns {string}
 */
export function holderOf(ip, port) {
  const inodes = listenerInodes(ip, port);
  if (!inodes.size) return 'a process this machine does not name (see `ss -ltnp`)';
  /** @type {Map<string, string>} fd link -> address listened on */
  const links = new Map([...inodes].map(([i, at]) => [`socket:[${i}]`, at]));
  /** @type {string[]} */
  let pids = [];
  try { pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)); } catch { /* not Linux */ }
  for (const pid of pids) {
    /** @type {string[]} */
    let fds = [];
    try { fds = readdirSync(`/proc/${pid}/fd`); } catch { continue; }
    for (const fd of fds) {
      let link = '';
      try { link = readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
      const at = links.get(link);
      if (at) return `pid ${pid} (${commandOf(Number(pid)) || 'command unknown'})${at === ip ? '' : `, listening on ${at}:${port}`}`;
    }
  }
  return 'a process of another user (see `sudo ss -ltnp`)';
}
