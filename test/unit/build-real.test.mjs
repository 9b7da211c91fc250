// @ts-check
// npm run build:real without building anything: versions come from the tools
// go.mods under tools/real, the cache folder is keyed by component and version,
// built binaries are reused, no Go means one line and exit 0, and a proxy that
// refuses (a local one) gives exit 3 naming the module and its answer.
import test from 'ava';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMPONENTS, REAL_DIR, pinnedVersion, realBinary, kubeStamp, k3sVersion } from '../../tools/build-real.mjs';
import { EXIT_PROXY } from '../../tools/go-build.mjs';
import { runTool, hasGo, tempDir, refusingProxy } from '../support/go-tool.mjs';

const SCRIPT = fileURLToPath(new URL('../../tools/build-real.mjs', import.meta.url));
/** @param {string[]} args @param {NodeJS.ProcessEnv} env */
const run = (args, env) => runTool(SCRIPT, args, env);
/** @param {import('ava').ExecutionContext} t */
const temp = (t) => tempDir(t, 'build-real-');

test('each component pins one version; the Kubernetes staging modules are replaced at the matching v0.x', (t) => {
  t.deepEqual(COMPONENTS.map((c) => [c.name, pinnedVersion(c)]),
    [['etcd', 'v3.6.17'], ['kubernetes', 'v1.33.13'], ['kwok', 'v0.8.0'], ['cilium-operator', 'v1.19.3']]);
  const kube = readFileSync(join(REAL_DIR, 'kubernetes', 'go.mod'), 'utf8');
  const replaced = [...kube.matchAll(/^\t(k8s\.io\/[\w-]+) => (k8s\.io\/[\w-]+) (v\S+)$/gm)];
  t.true(replaced.length >= 30);
  for (const [, from, to, v] of replaced) t.deepEqual([to, v], [from, 'v0.33.13']);
  const cilium = readFileSync(join(REAL_DIR, 'cilium-operator', 'go.mod'), 'utf8');
  t.regex(cilium, /^replace sigs\.k8s\.io\/controller-tools => github\.com\/cilium\/controller-tools v0\.16\.5-1$/m);
});

test('Kubernetes binaries are stamped as K3s reports itself, in component-base and client-go', (t) => {
  t.is(k3sVersion('v1.33.13'), 'v1.33.13+k3s1');
  const flags = kubeStamp('v1.33.13', '2026-12-04T00:00:00Z');
  for (const p of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    t.true(flags.includes(`-X ${p}.gitVersion=v1.33.13+k3s1`), flags);
    t.true(flags.includes(`-X ${p}.gitMajor=1 -X ${p}.gitMinor=33`), flags);
  }
});

test('binaries live outside the work tree, under real/<component>/<version>', (t) => {
  const b = realBinary('kube-scheduler', { XDG_CACHE_HOME: '/x/cache' });
  t.deepEqual(b, { bin: 'kube-scheduler', version: 'v1.33.13', path: '/x/cache/clustermesh-runbook/real/kubernetes/v1.33.13/kube-scheduler', built: false });
  t.throws(() => realBinary('kubelet'), { message: /no real component builds kubelet/ });
});

test('a component already in the cache is reused without Go: its binary, version and path printed', async (t) => {
  const cache = temp(t);
  const { path } = realBinary('etcd', { XDG_CACHE_HOME: cache });
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, '#!/bin/sh\n', { mode: 0o755 });
  const r = await run(['etcd'], { PATH: '/nonexistent', XDG_CACHE_HOME: cache, HOME: cache });
  t.is(r.code, 0, r.stderr);
  t.deepEqual(r.stdout.trim().split('\n'), ['build:real: etcd v3.6.17 already built (reused)', `etcd v3.6.17 ${path}`]);
});

test('without Go: one line saying so, exit 0, nothing built', async (t) => {
  const cache = temp(t);
  const r = await run([], { PATH: '/nonexistent', XDG_CACHE_HOME: cache, HOME: cache });
  t.is(r.code, 0, r.stderr);
  t.deepEqual(r.stdout.trim().split('\n'), ['build:real: no Go toolchain on PATH: the real control plane is not built (Go 1.26+ builds it).']);
  t.is(r.stderr, '');
});

test('an unknown component is named', async (t) => {
  const r = await run(['kubelet'], { PATH: '/nonexistent', HOME: temp(t) });
  t.is(r.code, 1);
  t.regex(r.stderr, /unknown component kubelet \(etcd, kubernetes, kwok, cilium-operator\)/);
});

(hasGo ? test : test.skip)('a module proxy that refuses: exit 3, the module and its answer named', async (t) => {
  const cache = temp(t);
  const { env } = await refusingProxy(t, cache);
  const r = await run(['etcd'], env);
  t.is(r.code, EXIT_PROXY, `${r.stdout}\n${r.stderr}`);
  t.regex(r.stderr, /^build:real: the Go module proxy refused go\.etcd\.io\/etcd\/server\/v3@v3\.6\.17: 403 Forbidden \(This module version is not available\.\) — http:\/\/127\.0\.0\.1:\d+\/go\.etcd\.io\/etcd\/server\/v3\/@v\/v3\.6\.17\./m);
  t.regex(r.stderr, /^build:real: go\.etcd\.io\/etcd\/server\/v3 v3\.6\.17 cannot be built from this proxy; etcd not built\.$/m);
  t.false(realBinary('etcd', { XDG_CACHE_HOME: cache }).built);
});
