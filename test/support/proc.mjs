// @ts-check
// The processes a test's child started, read with ps: to stop them along with it.
import { execFileSync } from 'node:child_process';

/** A process's children, grandchildren … with their command lines. @param {number} pid @returns {{ pid: number, args: string }[]} */
export function tree(pid) {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when there are none
  }
  return out.split('\n').map((l) => /^\s*(\d+)\s+(.*)$/.exec(l)).filter((m) => m !== null)
    .flatMap((m) => [{ pid: Number(m[1]), args: m[2] }, ...tree(Number(m[1]))]);
}

/** @param {number} pid */
export const descendants = (pid) => tree(pid).map((p) => p.pid);

/** SIGKILLs a process and everything it started (those first, so none is re-parented unseen). @param {number} pid */
export function killTree(pid) {
  for (const p of [...descendants(pid), pid]) {
    try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
  }
}
