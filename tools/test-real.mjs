#!/usr/bin/env node
// @ts-check
// `npm run test:real`: the tests of the real backend (test/real, ava.real.config.mjs).
// Builds what is missing first (tools/build-real.mjs, with its progress), makes
// sure of a real kubectl, runs the tests, then prints the version each real
// component's own binary reports. Without a usable Go and with the binaries not
// built: one line saying so, exit 0, no test run. A module proxy that refuses a
// component (build-real's exit 3) does not stop the run: the tests needing it
// skip, saying so. Exit: ava's, or 1 when the build or kubectl fails.
import { spawn, execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { COMPONENTS, realBinary } from './build-real.mjs';
import { EXIT_PROXY, MIN_GO, goVersion, goIsRecentEnough } from './go-build.mjs';

const TAG = 'test:real';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BINS = COMPONENTS.flatMap((c) => c.targets.map((t) => t.bin));

/** Runs `node <script> ...args` from the project root, output passed through. @param {string} script @param {string[]} args */
function node(script, args = []) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: ROOT, stdio: 'inherit' });
    child.on('error', () => resolve(1));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/**
 * What a built binary says of itself: the first line of `<bin> --version`
 * ("Kubernetes v1.33.13+k3s1"), or why it said nothing.
 * @param {string} path @returns {Promise<string>}
 */
export function reportedVersion(path) {
  return new Promise((resolve) => {
    execFile(path, ['--version'], { timeout: 20_000 }, (err, stdout, stderr) => {
      const line = `${stdout}${stderr}`.trim().split('\n')[0];
      resolve(line || `no answer to --version (${err?.message ?? 'empty'})`);
    });
  });
}

/** @returns {Promise<number>} */
export async function main() {
  if (!BINS.every((b) => realBinary(b).built)) {
    const v = await goVersion();
    if (!v || !goIsRecentEnough(v)) {
      const why = v ? `Go ${v.join('.')} is older than ${MIN_GO.join('.')}` : 'no Go toolchain on PATH';
      console.log(`${TAG}: ${why}, so the real backend is not built: its tests did not run (Go ${MIN_GO.join('.')}+ builds it).`);
      return 0;
    }
  }
  const built = await node('tools/build-real.mjs');
  if (built === EXIT_PROXY) console.log(`${TAG}: the module proxy refused part of the real backend (above): the tests needing it are skipped.`);
  else if (built !== 0) return 1;
  if (await node('tools/ensure-kubectl.mjs') !== 0) return 1;
  const code = await node('test/support/run-ava.mjs', ['--config', 'ava.real.config.mjs']);
  console.log(`${TAG}: the real components, as their binaries report themselves:`);
  for (const b of BINS.map((x) => realBinary(x))) {
    console.log(`  ${b.bin.padEnd(24)} ${b.built ? await reportedVersion(b.path) : `not built (${b.version} pinned)`}`);
  }
  return code;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then((code) => { process.exitCode = code; }, (e) => { console.error(`${TAG}: ${e.message}`); process.exitCode = 1; });
}
