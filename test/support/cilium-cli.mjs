// @ts-check
// Registers a test once with the stand-in and once with the real cilium CLI
// ("[real cilium] " before the title). Without the real CLI that variant is a
// skipped test (counted as skipped, never as passed) and the file prints once
// why and how to build it.
import test from 'ava';
import { realCilium, STAND_IN, HOW_TO_BUILD } from './real-cilium.mjs';

export { realCilium, realCiliumDir, ciliumUserAgent, STAND_IN, HOW_TO_BUILD } from './real-cilium.mjs';
/** @typedef {import('ava').ExecutionContext} T */
/** @typedef {import('./real-cilium.mjs').Cli} Cli */

let toldWhy = false;

/**
 * Registers `fn` once with the stand-in and once with the real CLI ("[real
 * cilium] " before the title); without the real CLI, that variant is skipped
 * and the reason printed. Serial: each runs the runbook on a twin of its own,
 * and a file's twins side by side slow each other down on a small machine.
 * @param {string} title
 * @param {(t: T, cli: Cli) => Promise<unknown> | unknown} fn
 */
export function testWithEachCli(title, fn) {
  test.serial(title, (t) => fn(t, STAND_IN));
  const real = realCilium();
  const realTitle = `[real cilium] ${title}`;
  if (real.cli) {
    const cli = real.cli;
    test.serial(realTitle, (t) => {
      t.log(`real cilium: ${cli.bin}`);
      return fn(t, cli);
    });
    return;
  }
  test.skip(realTitle, () => {});
  if (!toldWhy) {
    toldWhy = true;
    console.log(`skipped: real cilium not built (${real.why}): its variants of these tests did not run; ${HOW_TO_BUILD}.`);
  }
}
