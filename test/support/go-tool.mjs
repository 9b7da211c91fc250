// @ts-check
// What the tests of tools/build-cilium.mjs and tools/build-real.mjs share:
// running the tool as a child with an environment of the test's own, whether
// Go is here, a temp folder per test, and a local module proxy that refuses
// every request as the refusing one on this machine does.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scaled } from './time.mjs';

/**
 * `node <script> ...args` with exactly `env`, killed past a scaled minute.
 * @param {string} script @param {string[]} args @param {NodeJS.ProcessEnv} env
 * @returns {Promise<{ code: number | null, stdout: string, stderr: string }>}
 */
export function runTool(script, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), scaled(60_000));
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

export const hasGo = (() => {
  try {
    execFileSync('go', ['version'], { timeout: 20_000, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** A temp folder removed after the test. @param {import('ava').ExecutionContext} t @param {string} prefix */
export const tempDir = (t, prefix) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

/**
 * A local proxy answering 403 "This module version is not available." to
 * everything, closed after the test, and an environment pointing go at it
 * with every go folder under `cache`.
 * @param {import('ava').ExecutionContext} t @param {string} cache
 * @returns {Promise<{ proxy: string, env: NodeJS.ProcessEnv }>}
 */
export async function refusingProxy(t, cache) {
  const server = http.createServer((req, res) => {
    res.writeHead(403, { 'content-type': 'text/plain' });
    res.end('This module version is not available.\n');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  t.teardown(() => server.close());
  const proxy = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`;
  return { proxy, env: {
    PATH: process.env.PATH, HOME: cache, XDG_CACHE_HOME: cache, GOPROXY: proxy, GOSUMDB: 'off', GOFLAGS: '-modcacherw',
    GOMODCACHE: join(cache, 'mod'), GOCACHE: join(cache, 'gocache'), GOTOOLCHAIN: 'local',
  } };
}
