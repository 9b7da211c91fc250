// @ts-check
// npm run watch against the twin. `--once` prints one frame and exits 0 when
// everything is up, 3 otherwise: checked before the runbook, half-way (mesh
// enabled, not connected), after it, with B's echo scaled to 0 (B's VIP answering
// from A) and with B's API server gone; frames are compared whole after
// normalising numbers, fit 80 columns and come without colour under NO_COLOR.
// The live view runs on a pseudo-terminal (util-linux `script`): colour there,
// none with NO_COLOR, B's strip turns from B to A when B's pods go, a cluster
// going away shows and comes back, `q` quits (exit 0) and gives the screen back.
// Every run only reads, and asks each object at most once a second.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import { e2eTwin, ROOT } from '../support/e2e.mjs';
import { kubectl } from '../support/kubectl.mjs';
import { makeConfig } from '../support/config-fixture.mjs';
import { httpGet, ciliumLogFile, mutatingCiliumCalls, nonGetRequests, resetRequests } from '../support/e2e-checks.mjs';
import { waitFor, scaled, describeDeadline } from '../support/time.mjs';
import { killTree } from '../support/proc.mjs';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** @typedef {import('../support/e2e.mjs').E2E} E2E */
/** @typedef {import('ava').ExecutionContext} T */

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const SGR = /\x1b\[[0-9;]*m/;
const DOTS = '·'.repeat(60);

/** Numbers as N, so that frames compare whole. @param {string} s */
const norm = (s) => s.replace(/\d+/g, 'N');

/**
 * A --once run's frame: its lines after the settings line, with the closing
 * "not up" text unwrapped into one line.
 * @param {string} stdout
 */
function frameOf(stdout) {
  const lines = stdout.replace(/\n$/, '').split('\n');
  const start = lines.findIndex((l) => l.startsWith('ClusterMesh watch'));
  const body = lines.slice(start);
  const end = body.findIndex((l) => /^[✘✔] (not up|all up)/.test(l));
  return [...body.slice(0, end), body.slice(end).map((l) => l.trim()).join(' ')];
}

/**
 * Runs `watch.mjs --once`, checking that it only read and that every line fits 80 columns.
 * @param {T} t @param {E2E} h @param {string} name
 */
async function once(t, h, name) {
  resetRequests(h);
  const log = ciliumLogFile(h, `watch-${name}`);
  const run = await h.run('watch.mjs', ['--once'], { env: { TWIN_CILIUM_LOG: log } });
  t.is(h.stats().writes, 0, `${name}: ${nonGetRequests(h).join(', ')}`);
  t.deepEqual(mutatingCiliumCalls(log), [], name);
  const wide = run.stdout.split('\n').filter((l) => [...l].length > 80);
  t.deepEqual(wide, [], `${name}: lines over 80 columns`);
  t.false(SGR.test(run.output), `${name}: no colour under NO_COLOR`);
  return { ...run, frame: frameOf(run.stdout) };
}

/**
 * The frame lines of both clusters and VIPs, normalised, as the test expects them.
 * @param {ReturnType<typeof makeConfig>} config
 * @param {{ a: string[], b: string[] }} clusters each cluster's lines after its name
 * @param {{ a: string, b: string }} vips each VIP's line after its name
 * @param {{ a: string, b: string }} strips
 * @param {string} verdict
 */
function expected(config, clusters, vips, strips, verdict) {
  const { a, b } = config;
  const head = (/** @type {string} */ ctx) => ctx.padEnd(11);
  const indent = ' '.repeat(11);
  return [
    `ClusterMesh watch · ${a.context} ⇄ ${b.context} · N:N:N UTC · read-only`,
    '',
    ...[a, b].flatMap((c) => clusters[c.key].map((l, i) => `${i === 0 ? head(c.context) : indent} ${l}`)),
    '',
    `echo VIPs — the last N s, one cell a second: A ${a.context}, B ${b.context}, ✘ failed`,
    ...[a, b].flatMap((c) => [`${head(c.context)} ${vips[c.key]}`, `  ${strips[c.key]}`]),
    '',
    verdict,
  ].map(norm);
}

/**
 * Runs the live view on a pseudo-terminal. Killed (with what it started) past
 * its deadline and at the test's end.
 * @param {T} t @param {E2E} h @param {NodeJS.ProcessEnv} [vars]
 */
function onTerminal(t, h, vars = {}) {
  const env = Object.fromEntries(Object.entries(h.env).filter(([k]) => !['NO_COLOR', 'FORCE_COLOR'].includes(k)));
  Object.assign(env, { TERM: 'xterm', ...vars });
  const child = spawn('script', ['-qec', `${JSON.stringify(process.execPath)} scripts/watch.mjs`, '/dev/null'],
    { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { output += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { output += d; });
  const limit = scaled(120_000);
  const timer = setTimeout(() => child.pid && killTree(child.pid), limit);
  /** @type {Promise<number | null>} */
  const exit = new Promise((resolve) => child.on('close', (code) => { clearTimeout(timer); resolve(code); }));
  t.teardown(() => { if (child.exitCode === null && child.pid) killTree(child.pid); });
  return {
    output: () => output,
    /** The last whole frame drawn, without colour codes, as lines. */
    frame() {
      const frames = output.split('\x1b[1;1H').slice(1, -1);
      const last = frames.at(-1) ?? '';
      return stripVTControlCharacters(last).replace(/\r/g, '').split('\n');
    },
    /** The strip of a cluster's VIP in the last frame. @param {string} context */
    strip(context) {
      const lines = this.frame();
      const vipsAt = lines.findIndex((l) => l.startsWith('echo VIPs'));
      const at = lines.findIndex((l, i) => i > vipsAt && l.startsWith(`${context} `));
      return at < 0 ? '' : (lines[at + 1] ?? '').trim();
    },
    /** @param {(frame: string[]) => boolean} ok @param {string} what */
    waitFrame(ok, what) {
      return waitFor(() => ok(this.frame()), what, 30_000, 100)
        .catch((err) => { throw new Error(`${err.message}; the last frame:\n${this.frame().join('\n')}`); });
    },
    /** Presses a key: q, or Ctrl-C. @param {string} [key] */
    quit: (key = 'q') => child.stdin.write(key),
    exit,
    deadline: describeDeadline(limit),
  };
}

/** @param {E2E} h @param {string} context @param {number} replicas */
async function scaleEcho(h, context, replicas) {
  const r = await kubectl(['scale', '-n', h.vars.ECHO_NAMESPACE ?? 'echo', `deployment/${h.vars.ECHO_NAME ?? 'echo'}`, `--replicas=${replicas}`],
    { kubeconfig: h.vars.KUBECONFIG, cacheDir: String(h.env.KUBECACHEDIR), context });
  if (r.code !== 0) throw new Error(r.stderr);
}

test.serial('--once before, during and after the runbook, live on a terminal as B\'s pods go, and with B gone', async (t) => {
  const h = await e2eTwin(t);
  const config = makeConfig(h.vars);
  const { a, b } = config;
  const nothing = ['✘ no cilium  ✘ no operator  ✘ no echo pods', '✘ mesh: ClusterMesh not enabled'];
  const noVip = { a: '✘ no echo VIP', b: '✘ no echo VIP' };

  const fresh = await once(t, h, 'fresh');
  t.is(fresh.code, 3, fresh.output);
  const missing = 'no cilium, no cilium-operator, no echo pods, ClusterMesh not enabled, no echo VIP';
  t.deepEqual(fresh.frame.map(norm), expected(config, { a: nothing, b: nothing }, noVip, { a: DOTS, b: DOTS },
    `✘ not up: ${a.context}: ${missing}; ${b.context}: ${missing}`));

  // Half-way: Cilium on both and ClusterMesh enabled, not connected yet, no echo app.
  for (const script of readdirSync(join(ROOT, 'scripts')).filter((f) => /^0[1-6]-.*\.mjs$/.test(f)).sort()) {
    const run = await h.run(script);
    t.is(run.code, 0, `${script}:\n${run.output}`);
  }
  const half = await once(t, h, 'half');
  t.is(half.code, 3, half.output);
  /** @param {string} peer */
  const unconnected = (peer) => ['✔ cilium N/N  ✔ operator N/N  ✘ no echo pods',
    `◐ mesh → ${peer}: agents N/N configured, N/N connected`, `${' '.repeat(`◐ mesh → ${peer}:`.length)} KVStoreMesh N/N configured, N/N connected`];
  t.deepEqual(half.frame.map(norm), expected(config, { a: unconnected(b.name), b: unconnected(a.name) }, noVip, { a: DOTS, b: DOTS },
    `✘ not up: ${a.context}: no echo pods, mesh not connected, no echo VIP; ${b.context}: no echo pods, mesh not connected, no echo VIP`));
  t.regex(half.stdout, /mesh → \S+: agents 0\/\d+ configured, 0\/\d+ connected/);

  const all = await h.run('all.mjs');
  t.is(all.code, 0, all.output);
  const done = await once(t, h, 'done');
  t.is(done.code, 0, done.output);
  /** @param {string} peer */
  const up = (peer) => ['✔ cilium N/N  ✔ operator N/N  ✔ echo pods N/N', `✔ mesh → ${peer}: agents N/N configured, N/N connected`,
    `${' '.repeat(`✔ mesh → ${peer}:`.length)} KVStoreMesh N/N configured, N/N connected`];
  const vipLine = (/** @type {string} */ mark, /** @type {import('../../scripts/lib/types.js').ClusterConfig} */ from) =>
    `N.N.N.N:N ${mark} → ${from.context} ("${from.echoPage}") N ms`;
  t.deepEqual(done.frame.map(norm), expected(config, { a: up(b.name), b: up(a.name) }, { a: vipLine('✔', a), b: vipLine('✔', b) },
    { a: `${DOTS.slice(1)}A`, b: `${DOTS.slice(1)}B` }, '✔ all up'));
  const vip = (/** @type {'a' | 'b'} */ k) => String(h.store(k).get('/services', config.echo.namespace, config.echo.name)?.status?.loadBalancer?.ingress?.[0]?.ip);
  t.true(done.stdout.includes(`${b.context}   ${vip('b')}:${config.echo.servicePort} ✔ → ${b.context}`), done.stdout);

  // Live, on a terminal: B's strip shows B, then A once B's pods are gone.
  if (hasScript) {
    const live = onTerminal(t, h);
    await live.waitFrame(() => /BB$/.test(live.strip(b.context)), `${b.context}'s strip to show B answering`);
    t.true(SGR.test(live.output()), 'colour on a terminal');
    t.true(live.output().startsWith('settings: ') || live.output().includes('\x1b[?1049h'), 'the alternate screen');
    await scaleEcho(h, b.context, 0);
    await live.waitFrame(() => /B+[✘?·]*A+$/.test(live.strip(b.context)), `${b.context}'s strip to switch from B to A`);
    await live.waitFrame((f) => f.some((l) => /✘ echo pods 0\/1/.test(l)), `${b.context}'s echo pods at 0`);
    t.regex(live.frame().join('\n'), new RegExp(`◐ → ${a.context} \\("${a.echoPage}"\\)`), 'B\'s VIP answers from A');
    live.quit();
    t.is(await live.exit, 0, live.output().slice(-2000));
    t.true(live.output().trimEnd().endsWith('\x1b[?25h\x1b[?1049l'), 'the cursor and the screen given back');
  } else {
    t.log('util-linux script is not installed: the live view on a terminal was not tested');
    await scaleEcho(h, b.context, 0);
  }

  await waitFor(async () => (await httpGet(vip('b'), config.echo.servicePort).catch(() => ({ body: '' }))).body.includes(a.echoPage),
    `${b.context}'s VIP to answer from ${a.context}`, 30_000, 100);
  const scaledDown = await once(t, h, 'b-scaled-to-0');
  t.is(scaledDown.code, 3, scaledDown.output);
  const bDown = [...up(a.name)];
  bDown[0] = '✔ cilium N/N  ✔ operator N/N  ✘ echo pods N/N';
  t.deepEqual(scaledDown.frame.map(norm), expected(config, { a: up(b.name), b: bDown }, { a: vipLine('✔', a), b: vipLine('◐', a) },
    { a: `${DOTS.slice(1)}A`, b: `${DOTS.slice(1)}A` }, `✘ not up: ${b.context}: echo pods N/N ready, VIP answered by ${a.context}`));
  t.regex(scaledDown.stdout, /✘ echo pods 0\/1/);

  // B's API server gone: A still shown, B as not reachable, exit 3.
  await h.twin.clusters.b.server.stop();
  const gone = await once(t, h, 'b-gone');
  t.is(gone.code, 3, gone.output);
  t.deepEqual(gone.frame.slice(2, 5).map(norm), expected(config, { a: up(b.name), b: [] }, noVip, { a: '', b: '' }, '').slice(2, 5));
  t.true(gone.frame.some((l) => l.startsWith(`${b.context}   ✘ not reachable for `) && l.includes(`s: ${b.server} — `)), gone.stdout);
  t.true(gone.frame.some((l) => l.startsWith(`${' '.repeat(11)} ✘ mesh: not reachable for `)), gone.stdout);
  t.regex(gone.frame.at(-1) ?? '', new RegExp(`✘ not up: ${b.context}: cannot be asked, mesh unknown, no echo VIP$`));
});

test.serial('live with NO_COLOR: no colour; B going away shows and comes back; each object asked at most once a second; Ctrl-C quits', async (t) => {
  if (!hasScript) return t.pass('util-linux script is not installed: no pseudo-terminal to test on');
  const h = await e2eTwin(t);
  const { b } = makeConfig(h.vars);
  resetRequests(h);
  const started = Date.now();
  const live = onTerminal(t, h, { NO_COLOR: '1' });
  await live.waitFrame((f) => f.some((l) => l.startsWith(`${b.context}  `) && l.includes('no cilium')), 'a first full frame');
  await h.twin.clusters.b.server.stop();
  await live.waitFrame((f) => f.some((l) => l.startsWith(b.context) && l.includes(`✘ not reachable for `) && l.includes(b.server)),
    `${b.context} shown as not reachable`);
  await h.twin.clusters.b.server.start();
  await live.waitFrame((f) => f.some((l) => l.startsWith(`${b.context}  `) && l.includes('no cilium')), `${b.context} back`);
  live.quit('\x03'); // Ctrl-C, which raw mode hands over as a key
  t.is(await live.exit, 0, live.output().slice(-2000));
  const seconds = (Date.now() - started) / 1000;
  t.false(SGR.test(live.output()), 'no colour codes with NO_COLOR');
  t.regex(live.output(), /q quits/);

  // Only reads, and no path asked more than once a second (the twin's servers log every request).
  t.is(h.stats().writes, 0, nonGetRequests(h).join(', '));
  for (const k of /** @type {const} */ (['a', 'b'])) {
    /** @type {Map<string, number>} */
    const byPath = new Map();
    for (const r of h.twin.clusters[k].server.requests()) byPath.set(r.path, (byPath.get(r.path) ?? 0) + 1);
    t.true(byPath.size > 0, `${k}: asked`);
    const often = [...byPath].filter(([, n]) => n > Math.ceil(seconds) + 1);
    t.deepEqual(often, [], `${k}: paths asked more than once a second over ${seconds.toFixed(1)} s`);
  }

  // Without a terminal: a frame at once, then every 10 s, until a signal (exit 130).
  const piped = await h.run('watch.mjs', [], {
    onOutput: (out, child) => { if (/not up:/.test(out) && child.exitCode === null) child.kill('SIGTERM'); },
  });
  t.is(piped.code, 130, piped.output);
  t.regex(piped.stdout, /^ClusterMesh watch · /m);
  t.false(piped.stdout.includes('\x1b['), 'no terminal codes in a pipe');
});
