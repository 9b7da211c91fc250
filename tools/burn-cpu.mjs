#!/usr/bin/env node
// @ts-check
// Keeps every core busy (one worker thread per CPU, each a busy loop) for a
// given time or until killed, to prove the tests hold on a loaded machine:
//
//   node tools/burn-cpu.mjs --seconds 900 &  npm test
//
// Options: --seconds N (default 600, at most 7200: it always stops by itself),
// --threads N (default: os.cpus().length).
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';

const MAX_SECONDS = 7200;

if (isMainThread) {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '600' }, threads: { type: 'string' } } });
  const seconds = Number(values.seconds);
  const threads = Number(values.threads ?? cpus().length);
  if (!(seconds > 0 && seconds <= MAX_SECONDS) || !Number.isInteger(threads) || threads < 1) {
    console.error(`burn-cpu: --seconds must be in (0, ${MAX_SECONDS}] and --threads a whole number ≥ 1 (got ${values.seconds}, ${values.threads})`);
    process.exit(2);
  }
  const until = Date.now() + seconds * 1000;
  const workers = Array.from({ length: threads }, () => new Worker(new URL(import.meta.url), { workerData: { until } }));
  console.error(`burn-cpu: ${threads} busy threads for ${seconds} s (pid ${process.pid})`);
  let left = workers.length;
  for (const w of workers) w.on('exit', () => { if (--left === 0) console.error('burn-cpu: done'); });
  // The main thread only waits; a deadline of its own in case a worker hangs on.
  setTimeout(() => process.exit(0), seconds * 1000 + 5000).unref();
} else {
  const { until } = /** @type {{ until: number }} */ (workerData);
  let x = 0;
  while (Date.now() < until) {
    for (let i = 0; i < 1e6; i++) x = (x * 31 + i) % 1_000_003;
  }
  if (x < 0) console.log(x); // keeps the loop from being optimised away
}
