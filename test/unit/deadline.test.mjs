// @ts-check
// Every tool process the runbook starts has a deadline: a wait its own timeout
// and a margin, a Helm operation TIMEOUT_CILIUM, anything else a short fixed
// bound. Tools that never answer (a kubectl and a cilium that hang, as a stuck
// API server or an unbounded wait in the CLI make them) are killed past it, and
// the error names the command, how long it ran, the deadline and what it was
// waiting for. The bounds are shrunk to seconds (scaled by the tests' time
// factor on a loaded machine) so the tests do not wait minutes.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { Runtime, ToolError, deadlineOf, PLAIN_DEADLINE, DEADLINE_MARGIN } from '../../scripts/lib/runtime.mjs';
import { cilium, kubectl } from '../../scripts/lib/commands.mjs';
import { makeConfig, tempDir } from '../support/config-fixture.mjs';
import { scaled, timeFactor } from '../support/time.mjs';
import { alive } from '../../twin/hosting.mjs';

const config = makeConfig();
/** The runtime's bounds here: 1 s, or more on a loaded machine. */
const BOUND = Math.ceil(timeFactor);

/**
 * A folder with a `kubectl` and a `cilium` that write their pid and then wait forever.
 * @returns {{ bin: string, pidOf: (tool: string) => number }}
 */
function hangingTools() {
  const bin = tempDir('runbook-deadline-');
  for (const tool of ['kubectl', 'cilium']) {
    const file = path.join(bin, tool);
    fs.writeFileSync(file, `#!${process.execPath}\nrequire('node:fs').writeFileSync(${JSON.stringify(`${file}.pid`)}, String(process.pid));\n` +
      "process.stderr.write('waiting for the server\\n');\nsetInterval(() => {}, 1000);\n", { mode: 0o755 });
  }
  return { bin, pidOf: (tool) => Number(fs.readFileSync(path.join(bin, `${tool}.pid`), 'utf8')) };
}

/** @param {string} bin */
function runtime(bin) {
  const rt = new Runtime({ config, mode: 'run', bounds: { plain: BOUND, margin: BOUND } });
  rt.env.PATH = `${bin}${path.delimiter}${rt.env.PATH}`;
  return rt;
}

/**
 * The promise's rejection, or a failure when it is still running long after
 * every deadline in these tests (it has none, then).
 * @param {Promise<unknown>} p
 * @returns {Promise<ToolError>}
 */
async function rejection(p) {
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const guard = new Promise((resolve) => { timer = setTimeout(() => resolve('still running long past every deadline here: the process has none'), scaled(60_000)); });
  try {
    const r = await Promise.race([p.then(() => 'it ended by itself', (err) => err), guard]);
    if (!(r instanceof ToolError)) throw new Error(String(r));
    return r;
  } finally {
    clearTimeout(timer);
  }
}

/** Is the process gone? @param {number} pid */
const gone = (pid) => !alive(pid);

test('deadlineOf: a wait gets its own timeout and the margin, a Helm operation TIMEOUT_CILIUM, anything else the fixed bound', (t) => {
  const c = config.a;
  const wait = cilium`clustermesh status --context ${c.context} --wait --wait-duration 600s`.waitsFor('x', 600);
  t.is(deadlineOf(wait, config.timeouts).seconds, 600 + DEADLINE_MARGIN);
  const helm = cilium`clustermesh connect --context ${c.context}`.helmOn(c);
  t.is(deadlineOf(helm, config.timeouts).seconds, Math.max(PLAIN_DEADLINE, config.timeouts.cilium) + DEADLINE_MARGIN);
  t.is(deadlineOf(kubectl`--context ${c.context} get nodes`, config.timeouts).seconds, PLAIN_DEADLINE);
  t.is(deadlineOf(kubectl`--context ${c.context} get nodes`.withDeadline(7, 'w'), config.timeouts).seconds, 7 + DEADLINE_MARGIN);
});

test('a cilium wait that outlives its --wait-duration is killed at its deadline and reported with what it waited for', async (t) => {
  const tools = hangingTools();
  const rt = runtime(tools.bin);
  const cmd = cilium`clustermesh status --context ${config.a.context} --wait --wait-duration ${BOUND}s`
    .waitsFor('clustermesh-apiserver on cluster-a', BOUND).readOnly();
  const err = await rejection(rt.exec(cmd, { quiet: true }));
  t.true(err.killed);
  t.is(err.message.replace(/killed after \d+s/, 'killed after Ns'), `cilium clustermesh status --context cluster-a --wait --wait-duration ${BOUND}s: ` +
    `killed after Ns, past its deadline of ${2 * BOUND}s (its wait's ${BOUND}s and a ${BOUND}s margin); ` +
    'it was waiting for clustermesh-apiserver on cluster-a. Its last words: waiting for the server');
  t.is(rt.counts.cilium, 1, 'a killed wait is not retried');
  t.true(gone(tools.pidOf('cilium')), 'the process is gone');
});

test('a plain kubectl read that does not answer is killed at the fixed bound', async (t) => {
  const tools = hangingTools();
  const rt = runtime(tools.bin);
  const err = await rejection(rt.probe(kubectl`--context ${config.a.context} get nodes -o json`));
  t.true(err.killed);
  t.true(err.message.replace(/killed after \d+s/, 'killed after Ns').startsWith(
    `kubectl --context cluster-a get nodes -o json: killed after Ns, past its deadline of ${BOUND}s (the bound of a command that does not wait); it had not answered`), err.message);
  t.is(rt.counts.kubectl, 1, 'a killed read is not retried');
  t.true(gone(tools.pidOf('kubectl')));
});
