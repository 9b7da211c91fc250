// @ts-check
// npm run build:cilium without touching the network: the version comes from
// tools/cilium-cli/go.mod, the cache folder is keyed by it, a cached binary is
// reused (its path the last line), no Go means one line and exit 0, a proxy's
// refusal is named from go's own output, and a proxy that refuses when asked
// (a local one) gives exit 3 and that one line per module.
import test from 'ava';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinnedVersion, cacheDir, cachedBinary, proxyRefusals, MODULE_DIR, EXIT_PROXY } from '../../tools/build-cilium.mjs';
import { runTool, hasGo, tempDir, refusingProxy } from '../support/go-tool.mjs';

const SCRIPT = fileURLToPath(new URL('../../tools/build-cilium.mjs', import.meta.url));
/** @param {NodeJS.ProcessEnv} env */
const build = (env) => runTool(SCRIPT, [], env);
/** @param {import('ava').ExecutionContext} t */
const temp = (t) => tempDir(t, 'build-cilium-');

test('the version is the one go.mod requires, with cilium-cli\'s own replace line and the tool directive', (t) => {
  const mod = readFileSync(join(MODULE_DIR, 'go.mod'), 'utf8');
  t.is(pinnedVersion(), 'v0.19.7');
  t.regex(mod, /^replace sigs\.k8s\.io\/controller-tools => github\.com\/cilium\/controller-tools v0\.21\.0-1$/m);
  t.regex(mod, /^tool github\.com\/cilium\/cilium-cli\/cmd\/cilium$/m);
  t.regex(mod, /^go 1\.26\.0$/m);
});

test('the cache folder is outside the work tree, under XDG_CACHE_HOME or ~/.cache, keyed by version', (t) => {
  t.is(cacheDir('v0.19.7', { XDG_CACHE_HOME: '/x/cache' }), '/x/cache/clustermesh-runbook/cilium-cli/v0.19.7');
  t.is(cachedBinary('v0.19.8', { HOME: '/home/u' }), '/home/u/.cache/clustermesh-runbook/cilium-cli/v0.19.8/cilium');
});

test("the proxy's refusal is read from go's output: module, version, answer and URL, once per module", (t) => {
  const output = 'go: downloading github.com/cilium/cilium-cli v0.19.7\n'
    + 'go: github.com/cilium/cilium-cli/cmd/cilium: github.com/cilium/cilium-cli@v0.19.7: reading https://proxy.golang.org/github.com/cilium/cilium-cli/@v/v0.19.7.zip: 403 Forbidden\n'
    + '\tserver response: This module version is not available.\n'
    + 'go: github.com/cilium/cilium-cli@v0.19.7: reading https://proxy.golang.org/github.com/cilium/cilium-cli/@v/v0.19.7.info: 403 Forbidden\n'
    + '\tserver response: This module version is not available.\n'
    + 'go: github.com/cilium/charts@v0.0.0-20260101-abc: reading https://proxy.golang.org/github.com/cilium/charts/@v/v0.0.0-20260101-abc.mod: 410 Gone\n';
  t.deepEqual(proxyRefusals(output), [
    { module: 'github.com/cilium/cilium-cli', version: 'v0.19.7', answer: '403 Forbidden (This module version is not available.)',
      url: 'https://proxy.golang.org/github.com/cilium/cilium-cli/@v/v0.19.7.info' },
    { module: 'github.com/cilium/charts', version: 'v0.0.0-20260101-abc', answer: '410 Gone',
      url: 'https://proxy.golang.org/github.com/cilium/charts/@v/v0.0.0-20260101-abc.mod' },
  ]);
  t.deepEqual(proxyRefusals('go: finding module\nok\n'), []);
});

test('a binary already in the cache is reused without Go: exit 0, its absolute path the last line', async (t) => {
  const cache = temp(t);
  const bin = cachedBinary(pinnedVersion(), { XDG_CACHE_HOME: cache });
  mkdirSync(join(bin, '..'), { recursive: true });
  writeFileSync(bin, '#!/bin/sh\n', { mode: 0o755 });
  const r = await build({ PATH: '/nonexistent', XDG_CACHE_HOME: cache, HOME: cache });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /already built \(reused\)/);
  t.is(r.stdout.trim().split('\n').at(-1), bin);
});

test('without Go: one line saying so, exit 0, nothing built', async (t) => {
  const cache = temp(t);
  const r = await build({ PATH: '/nonexistent', XDG_CACHE_HOME: cache, HOME: cache });
  t.is(r.code, 0, r.stderr);
  t.deepEqual(r.stdout.trim().split('\n'), ['build:cilium: no Go toolchain on PATH: the real cilium CLI is not built (Go 1.26+ builds it; the stand-in is used).']);
  t.is(r.stderr, '');
});

(hasGo ? test : test.skip)('a module proxy that refuses: exit 3, the module and its answer named, no wall of go output', async (t) => {
  const cache = temp(t);
  const { proxy, env } = await refusingProxy(t, cache);
  const r = await build(env);
  t.is(r.code, EXIT_PROXY, `${r.stdout}\n${r.stderr}`);
  t.regex(r.stderr, new RegExp(`^build:cilium: the Go module proxy refused github\\.com/cilium/cilium-cli@v0\\.19\\.7: 403 Forbidden \\(This module version is not available\\.\\) — ${proxy.replace(/\./g, '\\.')}/github\\.com/cilium/cilium-cli/@v/v0\\.19\\.7\\.`, 'm'));
  t.true(r.stderr.trim().split('\n').length <= 3, r.stderr);
});
