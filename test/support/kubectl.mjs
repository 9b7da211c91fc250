// @ts-check
// Runs the real kubectl for tests: always with an explicit kubeconfig and a
// cache dir of the test run's own (kubectl caches discovery there), preferring
// the binary tools/ensure-kubectl.mjs put in .tools/bin.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeDeadline, scaled } from './time.mjs';

export const TOOLS_BIN = fileURLToPath(new URL('../../.tools/bin/', import.meta.url));

/** The kubectl to run: $TWIN_KUBECTL if set, else .tools/bin/kubectl when present, else the one on PATH. */
export function kubectlBin() {
  if (process.env.TWIN_KUBECTL) return process.env.TWIN_KUBECTL;
  const local = join(TOOLS_BIN, 'kubectl');
  return existsSync(local) ? local : 'kubectl';
}

/**
 * PATH with .tools/bin first when it exists.
 * @param {string} [base]
 */
export function pathWithTools(base = process.env.PATH ?? '') {
  return existsSync(TOOLS_BIN) ? [TOOLS_BIN.replace(/\/$/, ''), base].filter(Boolean).join(delimiter) : base;
}

/**
 * @typedef {object} KubectlOptions
 * @property {string} kubeconfig
 * @property {string} cacheDir
 * @property {string} [context]
 * @property {string} [input] written to stdin
 * @property {number} [timeoutMs] kill after this long on an unloaded machine (scaled by the time factor; default 60 s)
 * @property {NodeJS.ProcessEnv} [env]
 */

/**
 * @typedef {object} KubectlResult
 * @property {number} code exit code
 * @property {string} stdout
 * @property {string} stderr
 * @property {number} ms
 */

/**
 * Runs kubectl with argv `args`. Past its deadline the harness kills it and the
 * promise rejects saying so.
 * @param {string[]} args
 * @param {KubectlOptions} o
 * @returns {Promise<KubectlResult>}
 */
export function kubectl(args, o) {
  const argv = ['--kubeconfig', o.kubeconfig, '--cache-dir', o.cacheDir, ...(o.context ? ['--context', o.context] : []), ...args];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(kubectlBin(), argv, {
      env: { ...process.env, PATH: pathWithTools(), KUBECONFIG: o.kubeconfig, ...o.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const limit = scaled(o.timeoutMs ?? 60_000);
    const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, limit);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (killed) {
        const last = (stdout + stderr).trimEnd().split('\n').slice(-20).join('\n');
        reject(new Error(`kubectl ${args.join(' ')} killed by the test harness after ${describeDeadline(limit)}, last output:\n${last || '(none)'}`));
        return;
      }
      resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.on('error', () => { /* kubectl may exit before reading stdin */ });
    child.stdin.end(o.input ?? '');
  });
}
