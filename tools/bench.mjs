#!/usr/bin/env node
// @ts-check
// `npm run bench`: what the runbook costs, measured against the cluster twin
// with every artificial delay at zero (so the figures are the runbook's own
// overhead: node, kubectl and cilium processes, API round trips, polling).
//
// Phase 1, per step: a fresh twin; each of the nine steps run as its own child
// process (node scripts/NN-….mjs) in order — the first run — then all nine
// again — the no-op run. Before each step the twin servers' request counters
// are reset; after it they are read. The step writes its own figures (processes
// started per tool, its time inside node) through RUNBOOK_STATS_FILE.
// Phase 2, whole runs: another fresh twin; `node scripts/all.mjs` twice, which
// is what a user runs; its totals decide the targets:
//   - the no-op run starts at most 30 kubectl/cilium processes;
//   - the no-op run takes at most 2 s wall.
// Phase 3, the first run as a room sees it: a fresh twin with its default
// delays (pods take time to be ready, CRDs to be established), all.mjs once.
// `--first-run` runs phase 3 alone.
// Loopback only; every child has a time limit; the twins stop at the end.
// Exit code 0 when both targets pass, 1 when one misses, 2 when a run fails.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startTwin } from '../twin/twin.mjs';
import { twinEnv, writeTwinEnv, processEnvFor } from '../twin/runbook-env.mjs';
import { STEPS } from '../scripts/steps.mjs';
import { ensureKubectl } from './ensure-kubectl.mjs';

/** @typedef {import('../twin/server/types.js').RunningTwin} RunningTwin */
/** @typedef {{ kubectl: number, cilium: number }} Counts */
/** @typedef {{ step: string, seconds: number, counts: Counts, tally: { ok: number, changed: number, failed: number }, failed: boolean }} StatsLine */
/** @typedef {{ requests: number, reads: number, writes: number }} Requests */
/** @typedef {{ wall: number, inner: number, counts: Counts, requests: Requests | null, changed: number }} Figures */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** LoadBalancer and node addresses of the bench's twins: apart from `npm run demo` (127.0) and the tests (127.30–249). */
const NET = '127.28';
const ZERO = { podReadyMs: 0, podTerminateMs: 0, crdEstablishMs: 0, lbAssignMs: 0 };
const CHILD_LIMIT_MS = 180_000;
const TARGET_PROCESSES = 30;
const TARGET_WALL = 2;

/**
 * @param {{ delays?: 'default' }} [opts] the twin's default delays instead of zero
 * @returns {Promise<{ twin: RunningTwin, env: NodeJS.ProcessEnv }>}
 */
async function freshTwin(opts = {}) {
  const twin = /** @type {RunningTwin} */ (await startTwin({
    nodeIpBase: { a: `${NET}.10.1`, b: `${NET}.20.1` }, ...(opts.delays ? {} : { delays: ZERO }), cleanup: true,
  }));
  const envFile = writeTwinEnv(twin, twinEnv(twin, { net: NET }));
  return { twin, env: processEnvFor(twin, envFile) };
}

/** @param {RunningTwin} twin @returns {Requests} */
function requests(twin) {
  const s = [twin.clusters.a.server.stats(), twin.clusters.b.server.stats()];
  return { requests: s[0].requests + s[1].requests, reads: s[0].reads + s[1].reads, writes: s[0].writes + s[1].writes };
}

/** @param {RunningTwin} twin */
function resetRequests(twin) {
  twin.clusters.a.server.resetStats();
  twin.clusters.b.server.resetStats();
}

/**
 * Runs a script to its end; fails the bench when it does not exit 0.
 * @param {string} script e.g. "01-install-a.mjs"
 * @param {NodeJS.ProcessEnv} env
 * @returns {Promise<{ wall: number, stats: StatsLine[] }>}
 */
async function runScript(script, env) {
  const dir = mkdtempSync(join(tmpdir(), 'clustermesh-bench-'));
  const statsFile = join(dir, 'stats.jsonl');
  try {
    const started = performance.now();
    const { code, output } = await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [join(ROOT, 'scripts', script)], {
        env: { ...env, RUNBOOK_STATS_FILE: statsFile, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_LIMIT_MS);
      child.stdout.on('data', (d) => { text += d; });
      child.stderr.on('data', (d) => { text += d; });
      child.on('error', reject);
      child.on('close', (c, sig) => { clearTimeout(timer); resolve({ code: c ?? (sig ? `killed by ${sig}` : -1), output: text }); });
    });
    const wall = (performance.now() - started) / 1000;
    if (code !== 0) throw new BenchError(`node scripts/${script} exited ${code}:\n${output}`);
    const stats = existsSync(statsFile)
      ? readFileSync(statsFile, 'utf8').split('\n').filter(Boolean).map((l) => /** @type {StatsLine} */ (JSON.parse(l)))
      : [];
    return { wall, stats };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

class BenchError extends Error {}

/** @param {StatsLine[]} lines @returns {Counts} */
const countsOf = (lines) => lines.reduce((c, l) => ({ kubectl: c.kubectl + l.counts.kubectl, cilium: c.cilium + l.counts.cilium }),
  { kubectl: 0, cilium: 0 });

/**
 * The nine steps, each its own process, in order.
 * @param {RunningTwin} twin @param {NodeJS.ProcessEnv} env
 * @returns {Promise<Figures[]>}
 */
async function perStep(twin, env) {
  /** @type {Figures[]} */
  const rows = [];
  for (const step of STEPS) {
    resetRequests(twin);
    const { wall, stats } = await runScript(`${step.name}.mjs`, env);
    rows.push({
      wall, inner: stats.reduce((s, l) => s + l.seconds, 0), counts: countsOf(stats), requests: requests(twin),
      changed: stats.reduce((s, l) => s + l.tally.changed, 0),
    });
  }
  return rows;
}

/**
 * One `node scripts/all.mjs`.
 * @param {RunningTwin} twin @param {NodeJS.ProcessEnv} env
 * @returns {Promise<{ total: Figures, steps: StatsLine[] }>}
 */
async function wholeRun(twin, env) {
  resetRequests(twin);
  const { wall, stats } = await runScript('all.mjs', env);
  return {
    total: { wall, inner: stats.reduce((s, l) => s + l.seconds, 0), counts: countsOf(stats), requests: requests(twin),
      changed: stats.reduce((s, l) => s + l.tally.changed, 0) },
    steps: stats,
  };
}

/** @param {Figures[]} rows @returns {Figures & { requests: Requests }} */
const sum = (rows) => rows.reduce((/** @type {Figures & { requests: Requests }} */ t, r) => ({
  wall: t.wall + r.wall, inner: t.inner + r.inner, changed: t.changed + r.changed,
  counts: { kubectl: t.counts.kubectl + r.counts.kubectl, cilium: t.counts.cilium + r.counts.cilium },
  requests: {
    requests: t.requests.requests + (r.requests?.requests ?? 0), reads: t.requests.reads + (r.requests?.reads ?? 0),
    writes: t.requests.writes + (r.requests?.writes ?? 0),
  },
}), { wall: 0, inner: 0, changed: 0, counts: { kubectl: 0, cilium: 0 }, requests: { requests: 0, reads: 0, writes: 0 } });

const s = (/** @type {number} */ x) => `${x.toFixed(2)}s`;
/** One run's columns: wall, in-step time, kubectl, cilium, processes, reads, writes. @param {Figures} f */
const cols = (f) => [s(f.wall).padStart(7), String(f.counts.kubectl).padStart(4), String(f.counts.cilium).padStart(4),
  String(f.counts.kubectl + f.counts.cilium).padStart(5), String(f.requests?.reads ?? '-').padStart(5),
  String(f.requests?.writes ?? '-').padStart(4)].join(' ');
const HEAD = `${'wall'.padStart(7)} ${'kctl'.padStart(4)} ${'cil'.padStart(4)} ${'procs'.padStart(5)} ${'reads'.padStart(5)} ${'wr'.padStart(4)}`;
const LABEL = 34;

/** @param {string} label @param {Figures} first @param {Figures} again */
const row = (label, first, again) => `${label.padEnd(LABEL).slice(0, LABEL)} │ ${cols(first)} │ ${cols(again)}`;

/** @param {boolean} ok */
const verdict = (ok) => (ok ? 'PASS' : 'FAIL');

/** Phase 3: the first `npm run all` on a fresh twin with its default delays. */
async function firstRunWithDelays() {
  const { twin, env } = await freshTwin({ delays: 'default' });
  try {
    const { total, steps } = await wholeRun(twin, env);
    console.log(`\nThe first run with the twin's default delays (pods ready after a while, CRDs established, LB IPs assigned):`);
    console.log(`  npm run all on a fresh twin: ${s(total.wall)} wall, ${total.counts.kubectl + total.counts.cilium} processes`);
    console.log(`  by step: ${steps.map((l) => `${l.step} ${l.seconds.toFixed(2)}s`).join(', ')}`);
  } finally {
    await twin.stop();
  }
}

async function main() {
  const { values: flags } = parseArgs({ options: { 'first-run': { type: 'boolean' } } });
  await ensureKubectl();
  if (flags['first-run']) {
    await firstRunWithDelays();
    return 0;
  }
  console.log(`clustermesh-runbook benchmark — node ${process.version}, ${cpus().length} CPUs, load average ${
    loadavg()[0].toFixed(2)} at the start (figures from a busy machine are slower), twin delays all 0 ms, loopback ${NET}.x.y\n`);

  // Phase 1: each step as its own process.
  let { twin, env } = await freshTwin();
  /** @type {Figures[]} */ let first;
  /** @type {Figures[]} */ let again;
  try {
    first = await perStep(twin, env);
    again = await perStep(twin, env);
  } finally {
    await twin.stop();
  }
  const bar = '─'.repeat(LABEL);
  console.log(`Each step as its own process (node scripts/NN-….mjs), requests from the twin's API servers:`);
  console.log(`${''.padEnd(LABEL)} │ ${'first run (fresh twin)'.padEnd(HEAD.length)} │ no-op second run`);
  console.log(`${'step'.padEnd(LABEL)} │ ${HEAD} │ ${HEAD}`);
  console.log(`${bar}─┼─${'─'.repeat(HEAD.length)}─┼─${'─'.repeat(HEAD.length)}`);
  STEPS.forEach((st, i) => console.log(row(`${st.id} ${st.title}`, first[i], again[i])));
  console.log(`${bar}─┼─${'─'.repeat(HEAD.length)}─┼─${'─'.repeat(HEAD.length)}`);
  const firstSum = sum(first);
  const againSum = sum(again);
  console.log(row('sum of the nine processes', firstSum, againSum));
  console.log('(wall: the whole process, node start and settings check included; kctl/cil: kubectl/cilium processes started;');
  console.log(' procs: both; reads/wr: API requests that read/write, both clusters)');
  const changedAgain = again.map((r, i) => (r.changed ? STEPS[i].id : '')).filter(Boolean);
  if (changedAgain.length) console.log(`!! the second run changed something in step(s) ${changedAgain.join(', ')}`);

  // Phase 2: the whole runbook in one process, twice.
  ({ twin, env } = await freshTwin());
  /** @type {{ total: Figures, steps: StatsLine[] }} */ let whole1;
  /** @type {{ total: Figures, steps: StatsLine[] }} */ let whole2;
  try {
    whole1 = await wholeRun(twin, env);
    whole2 = await wholeRun(twin, env);
  } finally {
    await twin.stop();
  }
  console.log(`\nThe whole runbook in one process (node scripts/all.mjs) on another fresh twin:`);
  console.log(`${''.padEnd(LABEL)} │ ${'first run (fresh twin)'.padEnd(HEAD.length)} │ no-op second run`);
  console.log(`${'step (time inside the run)'.padEnd(LABEL)} │ ${HEAD} │ ${HEAD}`);
  console.log(`${bar}─┼─${'─'.repeat(HEAD.length)}─┼─${'─'.repeat(HEAD.length)}`);
  STEPS.forEach((st, i) => {
    const a = whole1.steps.find((l) => l.step === st.id);
    const b = whole2.steps.find((l) => l.step === st.id);
    if (!a || !b) return;
    /** @param {StatsLine} l @returns {Figures} */
    const f = (l) => ({ wall: l.seconds, inner: l.seconds, counts: l.counts, requests: null, changed: l.tally.changed });
    console.log(row(`${st.id} ${st.title}`, f(a), f(b)));
  });
  console.log(`${bar}─┼─${'─'.repeat(HEAD.length)}─┼─${'─'.repeat(HEAD.length)}`);
  console.log(row('npm run all (whole process)', whole1.total, whole2.total));
  console.log('(per-step requests are in the table above; "-": not measured per step inside one process)');

  await firstRunWithDelays();

  const procs = whole2.total.counts.kubectl + whole2.total.counts.cilium;
  const procsOk = procs <= TARGET_PROCESSES;
  const wallOk = whole2.total.wall <= TARGET_WALL;
  const stepProcs = againSum.counts.kubectl + againSum.counts.cilium;
  console.log('\nTargets for the no-op second run of all nine steps (npm run all, twin delays 0):');
  console.log(`  process starts ≤ ${TARGET_PROCESSES}: ${String(procs).padStart(7)}    ${verdict(procsOk)}   (step by step: ${stepProcs})`);
  console.log(`  wall time ≤ ${s(TARGET_WALL)}:  ${s(whole2.total.wall).padStart(7)}   ${verdict(wallOk)}` +
    `   (first run ${s(whole1.total.wall)}; step by step ${s(againSum.wall)} of ${s(firstSum.wall)})`);
  if (whole2.total.requests?.writes) console.log(`!! the no-op run wrote ${whole2.total.requests.writes} times`);
  return procsOk && wallOk ? 0 : 1;
}

try {
  process.exitCode = await main();
} catch (err) {
  if (!(err instanceof BenchError)) throw err;
  console.error(`bench: ${err.message}`);
  process.exitCode = 2;
}
