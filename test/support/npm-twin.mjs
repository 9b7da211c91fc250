// @ts-check
// `npm run twin` and `npm run demo` as a user starts them: real npm child
// processes in the work tree, their output collected, waits with deadlines.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { timeFactor } from './time.mjs';
import { alive } from '../../twin/hosting.mjs';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Deadlines scale with the suite's time factor (test/support/time.mjs). */
export const SCALE = timeFactor;

export { alive };

/** Zombies count as gone: they have exited. @param {number} pid */
export async function gone(pid) {
  if (!alive(pid)) return true;
  const { readFile } = await import('node:fs/promises');
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return / Z /.test(stat.slice(stat.lastIndexOf(')')));
}

/**
 * Polls until `fn` is truthy; throws naming `what` after `ms` (scaled).
 * @template T @param {() => T | Promise<T>} fn @param {string} what @param {number} [ms]
 * @returns {Promise<NonNullable<T>>}
 */
export async function until(fn, what, ms = 20_000) {
  const end = Date.now() + ms * SCALE;
  for (;;) {
    const v = await fn();
    if (v) return /** @type {NonNullable<T>} */ (v);
    if (Date.now() > end) throw new Error(`gave up waiting for ${what} after ${ms * SCALE} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * @typedef {{ child: import('node:child_process').ChildProcess, output: () => string,
 *   exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }> }} NpmRun
 */

/**
 * Starts `npm run <script>` in the work tree.
 * @param {string} script @param {{ env?: NodeJS.ProcessEnv, args?: string[], detached?: boolean }} [o]
 *   detached: in a process group of its own, as a terminal's foreground job
 * @returns {NpmRun}
 */
export function npmRun(script, o = {}) {
  const child = spawn('npm', ['run', '--silent', script, ...(o.args?.length ? ['--', ...o.args] : [])], {
    cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...o.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: o.detached,
  });
  let out = '';
  child.stdout?.on('data', (d) => { out += d; });
  child.stderr?.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, output: () => out, exited: /** @type {NpmRun['exited']} */ (exited) };
}

/**
 * `npm run twin`, once it has printed how to use it.
 * @param {import('ava').ExecutionContext} t @param {NodeJS.ProcessEnv} [env] @param {{ detached?: boolean }} [o]
 */
export async function npmTwin(t, env, o = {}) {
  const run = npmRun('twin', { env, detached: o.detached });
  t.teardown(() => { run.child.kill('SIGKILL'); });
  const text = await until(async () => {
    const o = run.output();
    if (/stops the twin/.test(o)) return o;
    if (run.child.exitCode !== null) throw new Error(`npm run twin exited ${run.child.exitCode}:\n${o}`);
    return '';
  }, 'npm run twin to print how to use it', 60_000);
  const pid = Number(/running \(pid (\d+)/.exec(text)?.[1]);
  const kubeconfig = /export KUBECONFIG=(\S+)/.exec(text)?.[1] ?? '';
  const pathLine = /^ *(export PATH=.*)$/m.exec(text)?.[1] ?? '';
  const net = /addresses (127\.\d+)\./.exec(text)?.[1] ?? '';
  t.teardown(() => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } });
  return { ...run, text, pid, kubeconfig, dir: kubeconfig.replace(/\/kubeconfig\.yaml$/, ''), pathLine, net };
}
