// @ts-check
// npm run test:real's frame, without the real backend: without Go and with
// nothing built it says so in one line and exits 0, running no test; a built
// binary's version is what it reports itself; `npm test` leaves test/real to
// it; build:real's parallelism is 1 unless asked.
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reportedVersion } from '../../tools/test-real.mjs';
import { buildOptions } from '../../tools/build-real.mjs';
import defaults from '../../ava.config.mjs';
import real from '../../ava.real.config.mjs';
import { runTool, tempDir } from '../support/go-tool.mjs';

const SCRIPT = fileURLToPath(new URL('../../tools/test-real.mjs', import.meta.url));

test('without Go and nothing built: one line saying so, exit 0, no test run and no pass claimed', async (t) => {
  const cache = tempDir(t, 'test-real-');
  const r = await runTool(SCRIPT, [], { PATH: '/nonexistent', XDG_CACHE_HOME: cache, HOME: cache });
  t.is(r.code, 0, r.stderr);
  t.deepEqual(r.stdout.trim().split('\n'),
    ['test:real: no Go toolchain on PATH, so the real backend is not built: its tests did not run (Go 1.26+ builds it).']);
  t.is(r.stderr, '');
});

test('a component\'s version is the first line its binary gives for --version', async (t) => {
  const bin = join(tempDir(t, 'test-real-'), 'kube-apiserver');
  writeFileSync(bin, '#!/bin/sh\n[ "$1" = --version ] && printf "Kubernetes v1.33.13+k3s1\\nmore\\n"\n', { mode: 0o755 });
  t.is(await reportedVersion(bin), 'Kubernetes v1.33.13+k3s1');
  t.regex(await reportedVersion(join(bin, '..', 'absent')), /^no answer to --version \(.*ENOENT/);
});

test('npm test\'s ava settings leave test/real out; test:real\'s take only test/real', (t) => {
  t.deepEqual(defaults.files, ['test/**/*.test.mjs', '!test/real/**']);
  t.deepEqual(real.files, ['test/real/**/*.test.mjs']);
  t.is(real.timeout, defaults.timeout);
});

test('build:real compiles one package at a time unless --jobs or RUNBOOK_REAL_BUILD_JOBS asks for more', (t) => {
  t.deepEqual(buildOptions(['etcd'], {}), { jobs: 1, names: ['etcd'] });
  t.deepEqual(buildOptions([], { RUNBOOK_REAL_BUILD_JOBS: '2' }), { jobs: 2, names: [] });
  t.deepEqual(buildOptions(['--jobs', '0', 'kwok'], { RUNBOOK_REAL_BUILD_JOBS: '2' }), { jobs: undefined, names: ['kwok'] });
  t.deepEqual(buildOptions(['kwok', '--jobs=4'], {}), { jobs: 4, names: ['kwok'] });
  t.throws(() => buildOptions(['--jobs', 'many'], {}), { message: /wants a whole number, not "many"/ });
});
