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
import { existsSync, mkdirSync, copyFileSync, renameSync, statSync, rmSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIN_GO, cacheRoot, requiredVersion, goVersion, goIsRecentEnough, clock, tidy, build, failure } from './go-build.mjs';

export { EXIT_PROXY, proxyRefusals } from './go-build.mjs';
export const MODULE_DIR = fileURLToPath(new URL('./cilium-cli/', import.meta.url));
export const CLI_MODULE = 'github.com/cilium/cilium-cli';
const MAIN_PKG = `${CLI_MODULE}/cmd/cilium`;
// Where cilium-cli v0.19.x keeps the version `cilium version` prints (its Makefile stamps the same).
const VERSION_VAR = 'github.com/cilium/cilium/cilium-cli/defaults.CLIVersion';

/** The cilium-cli version tools/cilium-cli/go.mod requires. */
export function pinnedVersion() {
  const v = requiredVersion(readFileSync(join(MODULE_DIR, 'go.mod'), 'utf8'), CLI_MODULE);
  if (!v) throw new Error(`tools/cilium-cli/go.mod requires no ${CLI_MODULE}`);
  return v;
}

/** The cache folder of one version. @param {string} version @param {NodeJS.ProcessEnv} [env] */
export const cacheDir = (version, env = process.env) => join(cacheRoot(env), 'cilium-cli', version);

/** The binary's path in the cache (it may not exist). @param {string} version @param {NodeJS.ProcessEnv} [env] */
export const cachedBinary = (version, env = process.env) => join(cacheDir(version, env), 'cilium');

/** @param {string} phase @param {import('./go-build.mjs').GoResult} r @param {number} ms */
const report = (phase, r, ms) => failure({ tag: 'build:cilium', phase, ms, minutesVar: 'RUNBOOK_CILIUM_BUILD_MINUTES',
  cannot: 'the real cilium CLI cannot be built from this proxy', fallback: 'the tests use the stand-in.' }, r);

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
  if (!goIsRecentEnough(goV)) {
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
  const tidied = await tidy(work, env, ms);
  if (tidied.code !== 0) return report('go mod tidy', tidied, ms);

  console.log(`build:cilium: compiling ${MAIN_PKG} (several minutes on a small machine)`);
  const tmp = `${bin}.tmp-${process.pid}`;
  const built = await build(work, env, Math.max(60_000, ms - (Date.now() - started)),
    { pkg: MAIN_PKG, out: tmp, ldflags: `-s -w -X ${VERSION_VAR}=${version}` });
  if (built.code !== 0) {
    rmSync(tmp, { force: true });
    return report('go build', built, ms);
  }
  renameSync(tmp, bin);
  console.log(`build:cilium: built cilium-cli ${version} in ${clock(Date.now() - started)} (${(statSync(bin).size / 1e6).toFixed(1)} MB)`);
  console.log(bin);
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then((code) => { process.exitCode = code; }, (e) => { console.error(`build:cilium: ${e.message}`); process.exitCode = 1; });
}
