#!/usr/bin/env node
// @ts-check
// `npm run build:real [component...]`: builds the real control plane of the
// second test backend from the Go module proxy, one tools go.mod per component
// (tools/real/<component>/go.mod), into a cache folder outside the work tree:
// ${XDG_CACHE_HOME:-~/.cache}/clustermesh-runbook/real/<component>/<version>/<binary>.
// Binaries already there are reused. Each built or reused binary is printed as
// "<binary> <version> <absolute path>".
//
// go runs at nice 19 with -p 1 by default: on a 2-core machine shared with
// an editor, a twin or other tests, one package compiles at a time and a core
// stays free for the rest (and the large kubernetes and cilium packages never
// compile two at once, side by side with them). Where nothing else runs (CI),
// `--jobs N` or RUNBOOK_REAL_BUILD_JOBS=N lets go compile N packages at once
// (0: go's default, one per core).
// Exit codes: 0 all built or reused, or no usable Go (one line says so); 3 the
// module proxy refused or could not be reached for a module a component needs
// (each module and the proxy's answer printed; the other components are still
// built); 1 any other failure. Every go process has a deadline:
// RUNBOOK_REAL_BUILD_MINUTES (default 120) per component.
import { existsSync, mkdirSync, copyFileSync, renameSync, statSync, rmSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_PROXY, MIN_GO, cacheRoot, requiredVersion, goVersion, goIsRecentEnough, clock, tidy, build, failure } from './go-build.mjs';

export const REAL_DIR = fileURLToPath(new URL('./real/', import.meta.url));
const TAG = 'build:real';

/**
 * @typedef {object} Component
 * @property {string} name folder under tools/real and in the cache
 * @property {string} module the Go module whose version go.mod pins
 * @property {{ bin: string, pkg: string }[]} targets
 * @property {string} [tags] build tags
 * @property {(version: string, buildDate: string) => string} [stamp] -X flags
 */

/**
 * What K3s stamps into its Kubernetes binaries (and so reports on /version):
 * gitVersion "v1.33.13+k3s1", in component-base and client-go alike.
 * @param {string} version k8s.io/kubernetes version @param {string} buildDate
 */
export function kubeStamp(version, buildDate) {
  const [major, minor] = version.replace(/^v/, '').split('.');
  return ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((p) => [
    `-X ${p}.gitVersion=${k3sVersion(version)}`, `-X ${p}.gitMajor=${major}`, `-X ${p}.gitMinor=${minor}`,
    `-X ${p}.gitTreeState=clean`, `-X ${p}.gitCommit=`, `-X ${p}.buildDate=${buildDate}`,
  ]).join(' ');
}

/** "v1.33.13" → "v1.33.13+k3s1". @param {string} version */
export const k3sVersion = (version) => `${version}+k3s1`;

/** @type {Component[]} */
export const COMPONENTS = [
  // etcd 3.6's main package is the root of its server module.
  { name: 'etcd', module: 'go.etcd.io/etcd/server/v3', targets: [{ bin: 'etcd', pkg: 'go.etcd.io/etcd/server/v3' }] },
  {
    name: 'kubernetes', module: 'k8s.io/kubernetes', stamp: kubeStamp,
    targets: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((bin) => ({ bin, pkg: `k8s.io/kubernetes/cmd/${bin}` })),
  },
  { name: 'kwok', module: 'sigs.k8s.io/kwok', targets: [{ bin: 'kwok', pkg: 'sigs.k8s.io/kwok/cmd/kwok' }] },
  {
    // The "generic" operator is cilium's operator main built with this one IPAM provider (operator/Makefile).
    name: 'cilium-operator', module: 'github.com/cilium/cilium', tags: 'ipam_provider_operator',
    targets: [{ bin: 'cilium-operator-generic', pkg: 'github.com/cilium/cilium/operator' }],
    stamp: (v) => `-X github.com/cilium/cilium/pkg/version.ciliumVersion=${v.replace(/^v/, '')}`,
  },
];

/** The version tools/real/<name>/go.mod pins. @param {Component} c */
export function pinnedVersion(c) {
  const v = requiredVersion(readFileSync(join(REAL_DIR, c.name, 'go.mod'), 'utf8'), c.module);
  if (!v) throw new Error(`tools/real/${c.name}/go.mod requires no ${c.module}`);
  return v;
}

/** The cache folder of a component's version. @param {Component} c @param {NodeJS.ProcessEnv} [env] */
export const cacheDir = (c, env = process.env) => join(cacheRoot(env), 'real', c.name, pinnedVersion(c));

/**
 * Where a binary is (or would be) in the cache: { bin, version, path, built }.
 * @param {string} bin e.g. "kube-apiserver" @param {NodeJS.ProcessEnv} [env]
 */
export function realBinary(bin, env = process.env) {
  const c = COMPONENTS.find((x) => x.targets.some((t) => t.bin === bin));
  if (!c) throw new Error(`no real component builds ${bin}`);
  const path = join(cacheDir(c, env), bin);
  return { bin, version: pinnedVersion(c), path, built: existsSync(path) && statSync(path).size > 0 };
}

/**
 * go build's -p: `--jobs N` among the arguments, else RUNBOOK_REAL_BUILD_JOBS, else 1;
 * 0 means go's default (undefined). The arguments left are component names.
 * @param {string[]} args @param {NodeJS.ProcessEnv} [env]
 * @returns {{ jobs: number | undefined, names: string[] }}
 */
export function buildOptions(args, env = process.env) {
  const names = [...args];
  const at = names.findIndex((a) => a === '--jobs' || a.startsWith('--jobs='));
  let raw = env.RUNBOOK_REAL_BUILD_JOBS ?? '1';
  if (at >= 0) raw = names[at].includes('=') ? names[at].split('=')[1] : names[at + 1] ?? '';
  if (at >= 0) names.splice(at, names[at].includes('=') ? 1 : 2);
  if (!/^\d+$/.test(raw)) throw new Error(`--jobs / RUNBOOK_REAL_BUILD_JOBS wants a whole number, not "${raw}"`);
  return { jobs: Number(raw) || undefined, names };
}

/**
 * Builds what is missing of one component. @param {Component} c @param {number} ms
 * @param {number | undefined} jobs go build -p
 * @returns {Promise<number>} exit code
 */
async function buildComponent(c, ms, jobs) {
  const version = pinnedVersion(c);
  const dir = cacheDir(c);
  const missing = c.targets.filter((t) => !realBinary(t.bin).built);
  for (const t of c.targets.filter((x) => !missing.includes(x))) console.log(`${TAG}: ${t.bin} ${version} already built (reused)`);
  if (!missing.length) return 0;
  const work = join(dir, 'module');
  mkdirSync(work, { recursive: true });
  copyFileSync(join(REAL_DIR, c.name, 'go.mod'), join(work, 'go.mod'));
  const env = { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0' };
  const started = Date.now();
  const left = () => Math.max(60_000, ms - (Date.now() - started));
  /** @param {string} phase @param {import('./go-build.mjs').GoResult} r */
  const report = (phase, r) => failure({ tag: TAG, phase, ms, minutesVar: 'RUNBOOK_REAL_BUILD_MINUTES',
    cannot: `${c.module} ${version} cannot be built from this proxy`, fallback: `${c.targets.map((t) => t.bin).join(', ')} not built.` }, r);

  console.log(`${TAG}: resolving ${c.module} ${version} and its modules through ${process.env.GOPROXY || 'the default Go module proxy'}`);
  const tidied = await tidy(work, env, left());
  if (tidied.code !== 0) return report(`go mod tidy (${c.name})`, tidied);
  const buildDate = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  for (const t of missing) {
    const one = Date.now();
    console.log(`${TAG}: compiling ${t.pkg} (${c.name} ${version}; long on a small machine, at nice 19 with -p ${jobs ?? 'one per core'})`);
    const out = join(dir, t.bin);
    const tmp = `${out}.tmp-${process.pid}`;
    const ldflags = ['-s -w', c.stamp?.(version, buildDate)].filter(Boolean).join(' ');
    const built = await build(work, env, left(), { pkg: t.pkg, out: tmp, ldflags, tags: c.tags, jobs });
    if (built.code !== 0) {
      rmSync(tmp, { force: true });
      return report(`go build ${t.pkg}`, built);
    }
    renameSync(tmp, out);
    console.log(`${TAG}: built ${t.bin} ${version} in ${clock(Date.now() - one)} (${(statSync(out).size / 1e6).toFixed(1)} MB)`);
  }
  return 0;
}

/** @param {string[]} args components to build (all when none), and --jobs N */
export async function main(args) {
  const { jobs, names } = buildOptions(args);
  const chosen = names.length ? names.map((n) => {
    const c = COMPONENTS.find((x) => x.name === n);
    if (!c) throw new Error(`unknown component ${n} (${COMPONENTS.map((x) => x.name).join(', ')})`);
    return c;
  }) : COMPONENTS;
  const allBuilt = chosen.every((c) => c.targets.every((t) => realBinary(t.bin).built));
  if (!allBuilt) {
    const goV = await goVersion();
    if (!goV) {
      console.log(`${TAG}: no Go toolchain on PATH: the real control plane is not built (Go ${MIN_GO.join('.')}+ builds it).`);
      return 0;
    }
    if (!goIsRecentEnough(goV)) {
      console.log(`${TAG}: Go ${goV.join('.')} is older than the ${MIN_GO.join('.')} the real components need: not built.`);
      return 0;
    }
  }
  const ms = (Number(process.env.RUNBOOK_REAL_BUILD_MINUTES) || 120) * 60_000;
  const codes = [];
  for (const c of chosen) codes.push(await buildComponent(c, ms, jobs));
  for (const c of chosen) {
    for (const t of c.targets) {
      const b = realBinary(t.bin);
      if (b.built) console.log(`${t.bin} ${b.version} ${b.path}`);
    }
  }
  return codes.includes(1) ? 1 : codes.includes(EXIT_PROXY) ? EXIT_PROXY : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => { console.error(`${TAG}: ${e.message}`); process.exitCode = 1; });
}
