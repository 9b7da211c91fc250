// @ts-check
// The stand-in against the real cilium CLI: the same argv on the same twin
// state, run with each, must give the same exit code, the same JSON document
// and the same reading by the runbook's own parsers (the version line, the
// mesh verdict per peer, the "not ready yet" and "not enabled" stderr
// patterns). A divergence fails with both outputs. The states: a fresh twin,
// steps 01-06 done (mesh enabled, not connected), and a full `npm run all`,
// each reached with the stand-in. Without the real CLI the tests are skipped,
// and the file says so.
import test from 'ava';
import { spawn } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { e2eTwin, ROOT } from '../support/e2e.mjs';
import { realCilium, HOW_TO_BUILD } from '../support/real-cilium.mjs';
import { scaled } from '../support/time.mjs';
import { peerConnection, notReadyYet } from '../../scripts/lib/mesh.mjs';
import { STEPS } from '../../scripts/steps.mjs';

/** @typedef {import('../support/e2e.mjs').E2E} E2E */
/** @typedef {{ code: number | null, stdout: string, stderr: string, killed: boolean }} Out */

const STAND_IN = join(ROOT, 'twin', 'bin', 'cilium');
const real = realCilium();

/**
 * Runs one cilium with the runbook's environment for this twin, with a deadline.
 * @param {E2E} h @param {string} bin @param {string[]} argv
 * @returns {Promise<Out>}
 */
function run(h, bin, argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, argv, { env: { ...h.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, scaled(120_000));
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, killed }); });
  });
}

/** @param {string} s */
const json = (s) => {
  try {
    return JSON.parse(s);
  } catch {
    return { unparsable: s.slice(0, 200) };
  }
};

/**
 * What the runbook reads from one output of `argv` (scripts/lib/mesh.mjs and
 * install-cilium.mjs), besides the exit code.
 * @param {string[]} argv @param {Out} o @param {Record<string, string>} peers context → the other cluster's name
 */
function reading(argv, o, peers) {
  const ctx = argv[argv.indexOf('--context') + 1];
  /** @type {Record<string, unknown>} */
  const r = { code: o.killed ? 'killed by the deadline' : o.code };
  if (argv[0] === 'version') r.cliVersion = /cilium-cli:\s*(\S+)/.exec(o.stdout)?.[1] ?? null;
  if (argv.includes('-o') && o.code === 0) r.document = json(o.stdout);
  if (argv[0] === 'clustermesh' && argv.includes('-o') && o.code === 0) r.peer = peerConnection(json(o.stdout), peers[ctx]);
  if (o.code !== 0) {
    r.notEnabled = /services? "clustermesh-apiserver" not found|configmaps? "cilium-config" not found/.test(o.stderr);
    r.notReadyYet = notReadyYet(o.stderr);
  }
  return r;
}

/**
 * Runs every argv with both CLIs on the twin as it is, and fails with both
 * outputs of every argv where they read differently (all of them, not the first).
 * @param {import('ava').ExecutionContext} t @param {E2E} h @param {string} bin @param {string[][]} argvs
 */
async function compare(t, h, bin, argvs) {
  const { CLUSTER_A_CONTEXT: a, CLUSTER_B_CONTEXT: b } = h.vars;
  const peers = { [a]: h.vars.CLUSTER_B_NAME ?? 'cluster-b', [b]: h.vars.CLUSTER_A_NAME ?? 'cluster-a' };
  const show = (/** @type {Out} */ o) => `exit ${o.killed ? 'killed by the deadline' : o.code}\n--- stdout\n${o.stdout.trim()}\n--- stderr\n${o.stderr.trim()}`;
  /** @type {string[]} */
  const divergences = [];
  for (const argv of argvs) {
    const mine = await run(h, STAND_IN, argv);
    const theirs = await run(h, bin, argv);
    if (isDeepStrictEqual(reading(argv, mine, peers), reading(argv, theirs, peers))) continue;
    divergences.push(`cilium ${argv.join(' ')}: the stand-in and the real CLI differ.\n=== stand-in: ${show(mine)}\n=== real cilium: ${show(theirs)}`);
  }
  const agreed = argvs.length - divergences.length;
  t.log(`${agreed} of ${argvs.length} commands read the same with both CLIs`);
  if (divergences.length) t.fail(`${divergences.length} of ${argvs.length} commands differ:\n\n${divergences.join('\n\n')}`);
  else t.pass();
}

/** Every read-only argv the runbook runs on a context. @param {string} ctx @param {boolean} wait */
const readOnly = (ctx, wait) => [
  ['status', '--context', ctx, '-o', 'json'],
  ['clustermesh', 'status', '--context', ctx, '-o', 'json'],
  ...(wait ? [
    ['status', '--context', ctx, '--wait', '--wait-duration', '30s', '--interactive=false'],
    ['clustermesh', 'status', '--context', ctx, '--wait', '--wait-duration', '30s'],
  ] : []),
];

if (!real.cli) {
  for (const title of ['a fresh twin', 'steps 01-06 done', 'npm run all done']) {
    test.skip(`differential, ${title}: the real cilium CLI reads as the stand-in`, () => {});
  }
  console.log(`skipped: real cilium not built (${real.why}): the differential tests did not run; ${HOW_TO_BUILD}.`);
} else {
  const bin = /** @type {string} */ (real.cli.bin);

  test('differential, a fresh twin: the real cilium CLI reads as the stand-in', async (t) => {
    const h = await e2eTwin(t);
    const { CLUSTER_A_CONTEXT: a } = h.vars;
    await compare(t, h, bin, [['version', '--client'], ...readOnly(a, false)]);
  });

  test('differential, steps 01-06 done: the real cilium CLI reads as the stand-in', async (t) => {
    const h = await e2eTwin(t);
    for (const s of STEPS.filter((x) => x.id <= '06')) {
      const r = await h.run(`${s.name}.mjs`);
      if (r.code !== 0) return t.fail(`${s.name} (stand-in) failed:\n${r.output}`);
    }
    const { CLUSTER_A_CONTEXT: a, CLUSTER_B_CONTEXT: b } = h.vars;
    await compare(t, h, bin, [...readOnly(a, true), ...readOnly(b, false)]);
  });

  test('differential, npm run all done: the real cilium CLI reads as the stand-in', async (t) => {
    const h = await e2eTwin(t);
    const r = await h.run('all.mjs');
    if (r.code !== 0) return t.fail(`npm run all (stand-in) failed:\n${r.output}`);
    const { CLUSTER_A_CONTEXT: a, CLUSTER_B_CONTEXT: b } = h.vars;
    await compare(t, h, bin, [...readOnly(a, true), ...readOnly(b, true)]);
  });
}
