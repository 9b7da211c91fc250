// @ts-check
// What tools/build-cilium.mjs and tools/build-real.mjs share: building Go
// tools from the Go module proxy into ${XDG_CACHE_HOME:-~/.cache}/clustermesh-runbook,
// go runs with a deadline and at the lowest priority (nice -n 19), progress
// lines while it works, and a refusing proxy named from go's own output.
import { spawn, execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const EXIT_PROXY = 3;
export const MIN_GO = [1, 26];

/** ${XDG_CACHE_HOME:-~/.cache}/clustermesh-runbook. @param {NodeJS.ProcessEnv} [env] */
export function cacheRoot(env = process.env) {
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'clustermesh-runbook');
}

/**
 * The version a tools go.mod requires of a module.
 * @param {string} modText @param {string} module
 */
export function requiredVersion(modText, module) {
  const m = new RegExp(`^require ${module.replace(/\./g, '\\.')} (v\\S+)$`, 'm').exec(modText);
  return m?.[1];
}

/**
 * What a refusing module proxy said, out of go's output: the module, version,
 * URL and answer of each refused request (deduplicated).
 * @param {string} output
 * @returns {{ module: string, version: string, url: string, answer: string }[]}
 */
export function proxyRefusals(output) {
  const seen = new Map();
  const re = /(\S+?)@(v[^\s:]+): (?:reading|verifying \S+: reading) (https?:\/\/\S+): ([^\n]+)(?:\n\s*server response: ([^\n]+))?/g;
  for (const m of output.matchAll(re)) {
    const answer = m[5] ? `${m[4]} (${m[5].trim()})` : m[4];
    seen.set(`${m[1]}@${m[2]}`, { module: m[1], version: m[2], url: m[3], answer });
  }
  return [...seen.values()];
}

/** @typedef {{ code: number | null, output: string, timedOut: boolean }} GoResult */

/**
 * Runs go under `nice -n 19` with a deadline (the whole process group is
 * killed past it), feeding each output line to onLine.
 * @param {string[]} args @param {{ cwd: string, env: NodeJS.ProcessEnv, ms: number, onLine?: (l: string) => void }} o
 * @returns {Promise<GoResult>}
 */
export function go(args, o) {
  return new Promise((resolve, reject) => {
    const child = spawn('nice', ['-n', '19', 'go', ...args], { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    let partial = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-(child.pid ?? 0), 'SIGKILL'); } catch { child.kill('SIGKILL'); }
    }, o.ms);
    /** @param {Buffer} d */
    const onData = (d) => {
      output += d;
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) o.onLine?.(l);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, output, timedOut }); });
  });
}

/** The Go toolchain's version, or undefined without a go that runs. @returns {Promise<number[] | undefined>} */
export function goVersion() {
  return new Promise((resolve) => {
    execFile('go', ['env', 'GOVERSION'], { timeout: 20_000, env: { ...process.env, GOTOOLCHAIN: 'local' } }, (err, stdout) => {
      const m = /go(\d+)\.(\d+)/.exec(stdout ?? '');
      resolve(err || !m ? undefined : [Number(m[1]), Number(m[2])]);
    });
  });
}

/** Whether a Go version is at least MIN_GO. @param {number[]} v */
export const goIsRecentEnough = (v) => v[0] > MIN_GO[0] || (v[0] === MIN_GO[0] && v[1] >= MIN_GO[1]);

/** "2m05s". @param {number} ms */
export const clock = (ms) => `${Math.floor(ms / 60_000)}m${String(Math.floor(ms / 1000) % 60).padStart(2, '0')}s`;

/**
 * Prints a phase's progress: each counted line moves a counter, shown at most
 * every 10 s (and once at the end), so a slow build shows it is alive.
 * @param {string} what "modules downloaded"
 */
export function progress(what) {
  const start = Date.now();
  let n = 0;
  let shown = 0;
  const show = () => console.log(`  … ${n} ${what} (${clock(Date.now() - start)})`);
  const tick = setInterval(() => { if (n !== shown) { shown = n; show(); } }, 10_000);
  return { count: () => { n++; }, done: () => { clearInterval(tick); show(); } };
}

/** `go mod tidy` with a count of downloads. @param {string} cwd @param {NodeJS.ProcessEnv} env @param {number} ms */
export async function tidy(cwd, env, ms) {
  const dl = progress('modules downloaded');
  const r = await go(['mod', 'tidy'], { cwd, env, ms, onLine: (l) => { if (l.startsWith('go: downloading ')) dl.count(); } });
  dl.done();
  return r;
}

/**
 * `go build -v` of one main package with a count of compiled packages.
 * @param {string} cwd @param {NodeJS.ProcessEnv} env @param {number} ms
 * @param {{ pkg: string, out: string, ldflags: string, tags?: string, jobs?: number }} b jobs: go build -p (go's default, one per core, when absent)
 */
export async function build(cwd, env, ms, b) {
  const pk = progress('packages compiled');
  const args = ['build', '-v', '-trimpath', ...(b.jobs ? ['-p', String(b.jobs)] : []), ...(b.tags ? ['-tags', b.tags] : []),
    '-ldflags', b.ldflags, '-o', b.out, b.pkg];
  const r = await go(args, { cwd, env, ms, onLine: (l) => { if (/^[\w.-]+(\/[\w.@-]+)+$/.test(l)) pk.count(); } });
  pk.done();
  return r;
}

/**
 * Prints why go failed, naming the proxy's refusals when there are any.
 * @param {{ tag: string, phase: string, minutesVar: string, ms: number, cannot: string, fallback: string }} o
 *   tag "build:cilium"; cannot: the line after the refusals; fallback: what happens instead
 * @param {GoResult} r
 * @returns {number} the exit code
 */
export function failure(o, r) {
  if (r.timedOut) {
    console.error(`${o.tag}: ${o.phase} passed its deadline (${Math.round(o.ms / 60_000)} min, ${o.minutesVar}) and was stopped.`);
    return 1;
  }
  const refused = proxyRefusals(r.output);
  if (refused.length) {
    for (const x of refused) console.error(`${o.tag}: the Go module proxy refused ${x.module}@${x.version}: ${x.answer} — ${x.url}`);
    console.error(`${o.tag}: ${o.cannot}; ${o.fallback}`);
    return EXIT_PROXY;
  }
  const unreachable = /dial tcp[^\n]*|no such host[^\n]*|i\/o timeout[^\n]*/.exec(r.output);
  if (unreachable) {
    console.error(`${o.tag}: the Go module proxy is not reachable (${unreachable[0].trim()}); ${o.fallback}`);
    return EXIT_PROXY;
  }
  console.error(`${o.tag}: ${o.phase} failed (exit ${r.code}):\n${r.output.trim().split('\n').slice(-15).join('\n')}`);
  return 1;
}
