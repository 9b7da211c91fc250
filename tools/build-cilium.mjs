#!/usr/bin/env node
// @ts-check
// `npm run build:cilium`: builds the real cilium CLI from the Go module proxy
// (tools/cilium-cli/go.mod) into a cache folder outside the work tree, keyed by
// version: ${XDG_CACHE_HOME:-~/.cache}/clustermesh-runbook/cilium-cli/<version>/cilium.
// A binary already there is reused. The last line printed is the binary's
// absolute path (when there is one).
//
// Exit codes: 0 built or reused, or no usable Go (one line says so: Go stays
// optional, the stand-in is used); 3 the module proxy refused or could not be
// reached for a module the build needs (the module and the proxy's answer are
// printed); 1 any other failure (the end of go's output is printed).
// Every go process has a deadline: RUNBOOK_CILIUM_BUILD_MINUTES (default 45).
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdirSync, copyFileSync, renameSync, statSync, rmSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MODULE_DIR = fileURLToPath(new URL('./cilium-cli/', import.meta.url));
export const CLI_MODULE = 'github.com/cilium/cilium-cli';
const MAIN_PKG = `${CLI_MODULE}/cmd/cilium`;
// Where cilium-cli v0.19.x keeps the version `cilium version` prints (its Makefile stamps the same).
const VERSION_VAR = 'github.com/cilium/cilium/cilium-cli/defaults.CLIVersion';
const MIN_GO = [1, 26];
export const EXIT_PROXY = 3;

/** The cilium-cli version tools/cilium-cli/go.mod requires. */
export function pinnedVersion() {
  const mod = readFileSync(join(MODULE_DIR, 'go.mod'), 'utf8');
  const m = new RegExp(`^require ${CLI_MODULE.replace(/\./g, '\\.')} (v\\S+)$`, 'm').exec(mod);
  if (!m) throw new Error(`tools/cilium-cli/go.mod requires no ${CLI_MODULE}`);
  return m[1];
}

/** The cache folder of one version. @param {string} version @param {NodeJS.ProcessEnv} [env] */
export function cacheDir(version, env = process.env) {
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'clustermesh-runbook', 'cilium-cli', version);
}

/** The binary's path in the cache (it may not exist). @param {string} version @param {NodeJS.ProcessEnv} [env] */
export const cachedBinary = (version, env = process.env) => join(cacheDir(version, env), 'cilium');

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

/**
 * Runs go with a deadline, feeding each output line to onLine.
 * @param {string[]} args @param {{ cwd: string, env: NodeJS.ProcessEnv, ms: number, onLine?: (l: string) => void }} o
 * @returns {Promise<{ code: number | null, output: string, timedOut: boolean }>}
 */
function go(args, o) {
  return new Promise((resolve, reject) => {
    const child = spawn('go', args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
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
function goVersion() {
  return new Promise((resolve) => {
    execFile('go', ['env', 'GOVERSION'], { timeout: 20_000, env: { ...process.env, GOTOOLCHAIN: 'local' } }, (err, stdout) => {
      const m = /go(\d+)\.(\d+)/.exec(stdout ?? '');
      resolve(err || !m ? undefined : [Number(m[1]), Number(m[2])]);
    });
  });
}

/** "2m05s". @param {number} ms */
const clock = (ms) => `${Math.floor(ms / 60_000)}m${String(Math.floor(ms / 1000) % 60).padStart(2, '0')}s`;

/**
 * Prints a phase's progress: each counted line moves a counter, shown at most
 * every 10 s (and once at the end), so a slow build shows it is alive.
 * @param {string} what "modules downloaded"
 */
function progress(what) {
  const start = Date.now();
  let n = 0;
  let shown = 0;
  const show = () => console.log(`  … ${n} ${what} (${clock(Date.now() - start)})`);
  const tick = setInterval(() => { if (n !== shown) { shown = n; show(); } }, 10_000);
  return { count: () => { n++; }, done: () => { clearInterval(tick); show(); } };
}

/**
 * What to print when go failed: the proxy's refusals when there are any.
 * @param {string} phase @param {{ code: number | null, output: string, timedOut: boolean }} r @param {number} ms
 * @returns {number} the exit code
 */
function report(phase, r, ms) {
  if (r.timedOut) {
    console.error(`build:cilium: ${phase} passed its deadline (${Math.round(ms / 60_000)} min, RUNBOOK_CILIUM_BUILD_MINUTES) and was stopped.`);
    return 1;
  }
  const refused = proxyRefusals(r.output);
  if (refused.length) {
    for (const x of refused) console.error(`build:cilium: the Go module proxy refused ${x.module}@${x.version}: ${x.answer} — ${x.url}`);
    console.error('build:cilium: the real cilium CLI cannot be built from this proxy; the tests use the stand-in.');
    return EXIT_PROXY;
  }
  const unreachable = /dial tcp[^\n]*|no such host[^\n]*|i\/o timeout[^\n]*/.exec(r.output);
  if (unreachable) {
    console.error(`build:cilium: the Go module proxy is not reachable (${unreachable[0].trim()}); the tests use the stand-in.`);
    return EXIT_PROXY;
  }
  console.error(`build:cilium: ${phase} failed (exit ${r.code}):\n${r.output.trim().split('\n').slice(-15).join('\n')}`);
  return 1;
}

async function main() {
  const version = pinnedVersion();
  const bin = cachedBinary(version);
  if (existsSync(bin) && statSync(bin).size > 0) {
    console.log(`build:cilium: cilium-cli ${version} already built (reused)`);
    console.log(bin);
    return 0;
  }
  const goV = await goVersion();
  if (!goV) {
    console.log(`build:cilium: no Go toolchain on PATH: the real cilium CLI is not built (Go ${MIN_GO.join('.')}+ builds it; the stand-in is used).`);
    return 0;
  }
  if (goV[0] < MIN_GO[0] || (goV[0] === MIN_GO[0] && goV[1] < MIN_GO[1])) {
    console.log(`build:cilium: Go ${goV.join('.')} is older than the ${MIN_GO.join('.')} cilium-cli ${version} needs: not built (the stand-in is used).`);
    return 0;
  }
  const minutes = Number(process.env.RUNBOOK_CILIUM_BUILD_MINUTES) || 45;
  const ms = minutes * 60_000;
  const dir = cacheDir(version);
  const work = join(dir, 'module');
  mkdirSync(work, { recursive: true });
  copyFileSync(join(MODULE_DIR, 'go.mod'), join(work, 'go.mod'));
  const env = { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0' };
  const started = Date.now();

  console.log(`build:cilium: resolving cilium-cli ${version} and its modules through ${process.env.GOPROXY || 'the default Go module proxy'}`);
  const dl = progress('modules downloaded');
  const tidy = await go(['mod', 'tidy'], { cwd: work, env, ms, onLine: (l) => { if (l.startsWith('go: downloading ')) dl.count(); } });
  dl.done();
  if (tidy.code !== 0) return report('go mod tidy', tidy, ms);

  console.log(`build:cilium: compiling ${MAIN_PKG} (several minutes on a small machine)`);
  const pk = progress('packages compiled');
  const tmp = `${bin}.tmp-${process.pid}`;
  const ldflags = `-s -w -X ${VERSION_VAR}=${version}`;
  const build = await go(['build', '-v', '-trimpath', '-ldflags', ldflags, '-o', tmp, MAIN_PKG],
    { cwd: work, env, ms: Math.max(60_000, ms - (Date.now() - started)), onLine: (l) => { if (/^[\w.-]+(\/[\w.@-]+)+$/.test(l)) pk.count(); } });
  pk.done();
  if (build.code !== 0) {
    rmSync(tmp, { force: true });
    return report('go build', build, ms);
  }
  renameSync(tmp, bin);
  console.log(`build:cilium: built cilium-cli ${version} in ${clock(Date.now() - started)} (${(statSync(bin).size / 1e6).toFixed(1)} MB)`);
  console.log(bin);
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then((code) => { process.exitCode = code; }, (e) => { console.error(`build:cilium: ${e.message}`); process.exitCode = 1; });
}
