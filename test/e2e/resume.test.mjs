// @ts-check
// Interrupt anywhere, run again, and it finishes: all.mjs is killed with SIGKILL
// (no cleanup runs; the tools it started live on as orphans, as with `kill -9`)
// after each step and in the middle of the long ones, then run again. The run
// after a kill must take the dead run's lock over, change nothing in the steps
// done before the kill, and finish (exit 0) with the end state of an
// uninterrupted run on another twin.
//
// Kill points are grouped in chains on one twin each, in the order the run
// reaches them: the run after kill point k is killed at point k+1 (so it has
// resumed past k, with every step before k+1 passed), and the last run goes to
// the end. A twin per kill point would cost a whole run per point (≈ 6 s of CPU)
// and take this file well past 90 s on 2 cores.
//
// And two runs at once: the second is refused (exit 2) naming the first, which
// finishes unharmed.
import test from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { e2eTwin, obj } from '../support/e2e.mjs';
import { comparableState, lockFileOf, lockHolder, slots, helmStatuses, referenceRun } from '../support/end-state.mjs';
import { DRILL_ANNOTATION } from '../../scripts/lib/failover.mjs';
import { descendants, tree } from '../support/proc.mjs';
import { scaled } from '../support/time.mjs';

/** @typedef {import('../support/e2e.mjs').E2E} E2E */
/** @typedef {import('node:child_process').ChildProcess} ChildProcess */

// One twin at a time (the tests are serial; this keeps the reference run apart too).
const slot = slots(1);

/** The end state of an uninterrupted run on a twin of its own (computed once for the file). */
const reference = referenceRun(slot, (h) => ({ state: comparableState(h), drill: drillRecord(h) }));

/** B's failover record with its timestamp and measured times taken out. @param {E2E} h */
function drillRecord(h) {
  const d = obj(h, 'b', 'apps/deployments', h.vars.ECHO_NAMESPACE ?? 'echo', h.vars.ECHO_NAME ?? 'echo');
  const record = d?.metadata?.annotations?.[DRILL_ANNOTATION];
  // The record says when the drill passed and how long failover took: both differ between runs.
  return record && record.replace(/^passed \S+: /, 'passed <time>: ').replace(/\d+\.\d+s/, '<seconds>s').replace(/\d+ failed/, '<n> failed');
}

/** Verdict lines of a run: step id → changed count. @param {string} output */
function changedBySteps(output) {
  return new Map([...output.matchAll(/^✔ (\d\d) .*: (\d+) ok, (\d+) changed, 0 failed/gm)].map((m) => [m[1], Number(m[3])]));
}

/**
 * @typedef {object} KillPoint
 * @property {string} title
 * @property {(output: string) => boolean} when kill as soon as this is true of the run's output so far
 * @property {(output: string, h: E2E) => void} [watch] sees the killed run's output before `when` (e.g. to add latency)
 * @property {(h: E2E) => boolean} [whenStore] once `when` is true, kill the run as soon as this is true of the stores
 *   (polled): the command it started is under way
 * @property {RegExp} [started] with whenStore: the command's process; once it runs, the run is stopped (SIGSTOP) until the kill
 * @property {RegExp} [freezeUntil] stop (SIGSTOP) the tools the run started before killing it, and continue them
 *   when the next run's output matches this (the next run must see their work half done)
 * @property {(t: import('ava').ExecutionContext, h: E2E, killed: RunResult) => Promise<void> | void} [afterKill]
 * @property {(t: import('ava').ExecutionContext, h: E2E, next: string, killed: string) => void} [checkNext] about the next run's
 *   output (killed: the end of the killed run's output, for messages)
 * @property {boolean} [leavesTemp] the run is killed while a command reads a file of its private temp folder
 * @property {string} done the last step that was done when this point was reached: the next run must change nothing up to it
 */
/** @typedef {import('../support/e2e.mjs').RunResult} RunResult */

/*
 * A kill lands when the run's output shows its point; points that need a command
 * to have started (a scale, a Helm upgrade) wait for its effect on the stores,
 * since the kill can otherwise land before the run has spawned the command.
 */

/** @param {string} id @returns {KillPoint} */
const afterStep = (id) => ({
  title: `after step ${id}`,
  when: (o) => new RegExp(`^✔ ${id} `, 'm').test(o),
  done: id,
});

/** @type {KillPoint} */
const afterDrill = {
  // The last change of step 09 (its verdict is followed by the exit at once, too late to kill).
  title: 'after step 09 recorded the drill',
  when: (o) => /^\$ kubectl --context cluster-b annotate -n echo deployment\/echo --overwrite /m.test(o),
  whenStore: (h) => Boolean(drillRecord(h)),
  started: /kubectl --context cluster-b annotate /,
  checkNext: (t, h, next, killed) => t.regex(next, /^✔ 09 .*: 1 ok, 0 changed, 0 failed/m, `the drill is recorded, not repeated, ${killed}`),
  done: '09',
};

/** @type {KillPoint[]} */
const middle = [
  {
    // The killed run's cilium (an orphan now) is stopped while the Helm release is pending-install,
    // and only continued once the next run says it waits for it: the next run must not install again.
    title: 'during cilium install on cluster-a (Helm release pending-install)',
    watch: (o, h) => { if (/── 01 ·/.test(o)) h.twin.clusters.a.server.faults.latencyMs = 40; },
    when: (o) => /^\$ cilium install --context cluster-a /m.test(o),
    whenStore: (h) => helmStatuses(h, 'a').some((r) => r.status === 'pending-install'),
    started: /cilium install --context cluster-a /,
    freezeUntil: /Helm release cilium on cluster-a is pending-install \(revision 1, since [^)]+\): another cilium command .* waiting for it to finish/,
    afterKill: (t, h) => {
      h.twin.clusters.a.server.faults.latencyMs = 0;
      t.deepEqual(helmStatuses(h, 'a').map((r) => r.status), ['pending-install'], 'the kill landed while the install was under way');
    },
    checkNext: (t, h, next, killed) => t.notRegex(next, /^\$ cilium install --context cluster-a /m, `no second install on cluster-a ${killed}`),
    leavesTemp: true, // the install's values file
    done: '00',
  },
  {
    // Between reading A's CA and writing it to B (slowed down): the Secret was only in the killed process's memory.
    title: "between step 02's CA read and write",
    watch: (o, h) => { if (/── 02 ·/.test(o)) h.twin.clusters.b.server.faults.latencyMs = 150; },
    when: (o) => / \| \(drop server fields in memory\) \| /.test(o),
    afterKill: (t, h, killed) => {
      h.twin.clusters.b.server.faults.latencyMs = 0;
      t.notRegex(killed.output, /✚ changed Copy Secret/, 'killed before the copy was reported');
    },
    done: '01',
  },
  {
    title: 'during cilium install on cluster-b',
    when: (o) => /^\$ cilium install --context cluster-b /m.test(o),
    done: '02',
  },
  {
    // While connect upgrades A's release (B's comes next): the orphaned connect dies at its next line of output.
    title: 'during cilium clustermesh connect',
    when: (o) => /^\$ cilium clustermesh connect --context cluster-a /m.test(o),
    whenStore: (h) => helmStatuses(h, 'a').some((r) => r.status === 'pending-upgrade'),
    started: /cilium clustermesh connect /,
    done: '06',
  },
  {
    title: "while step 09 has cluster-b's echo at 0 replicas",
    when: (o) => /^\$ kubectl --context cluster-b scale -n echo deployment\/echo --replicas=0$/m.test(o),
    whenStore: (h) => obj(h, 'b', 'apps/deployments', 'echo', 'echo')?.spec?.replicas === 0,
    started: /kubectl --context cluster-b scale /,
    // Step 08 finds echo on B at 0 instead of its replicas and applies it again; 09 then does the whole drill.
    checkNext: (t, h, next, killed) => {
      t.regex(next, /✚ changed Echo app \(\S+\) and global Service echo\/echo on cluster-b — Deployment\/echo: spec\.replicas differs/, killed);
      t.regex(next, /^✔ 09 .*: 0 ok, 1 changed, 0 failed/m, killed);
    },
    done: '07',
  },
];

const chains = {
  'after steps 01, 03, 05, 07 and 09': [...['01', '03', '05', '07'].map(afterStep), afterDrill],
  'after steps 02, 04, 06 and 08': ['02', '04', '06', '08'].map(afterStep),
  'in the middle of steps 01, 02, 03, 07 and 09': middle,
};

for (const [name, chain] of Object.entries(chains)) {
  test.serial(`killed ${name} (${chain.length} kills), the next run finishes each time; the end state is the uninterrupted one`, async (t) => {
    const ref = reference();
    const h = await slot(() => killChain(t, chain));
    t.deepEqual(comparableState(h), (await ref).state);
    t.is(drillRecord(h), (await ref).drill);
  });
}

/**
 * Runs all.mjs on a fresh twin and kills it at each point of the chain in turn, then runs it to the end.
 * @param {import('ava').ExecutionContext} t @param {KillPoint[]} chain
 */
async function killChain(t, chain) {
  const h = await e2eTwin(t);
  /** @type {KillPoint | undefined} */
  let previous;
  /** @type {number[]} the killed run's tools, stopped */
  let frozenByPrevious = [];
  /** @type {number[]} */
  const killed = [];
  let lastOutput = '';
  /** The temp folders of a run (the runtime names them after its pid). @param {number} pid */
  const tempOf = (pid) => readdirSync(tmpdir()).filter((n) => n.startsWith(`clustermesh-runbook-run-${pid}-`));
  for (const p of [...chain, undefined]) {
    /** @type {ChildProcess | undefined} */
    let child;
    let armed = false;
    /** @type {NodeJS.Timeout | undefined} */
    let poll;
    /** @type {number[]} */
    let stopped = [];
    const kill = () => {
      clearInterval(poll);
      if (p?.freezeUntil && child?.pid) {
        stopped = descendants(child.pid);
        for (const pid of stopped) process.kill(pid, 'SIGSTOP');
      }
      child?.kill('SIGKILL');
    };
    const prev = previous;
    const previousOutput = lastOutput;
    const frozen = frozenByPrevious;
    const thaw = () => { for (const pid of frozen.splice(0)) try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ } };
    const fallback = setTimeout(thaw, scaled(20_000));
    let thawed = false;
    const run = await h.run('all.mjs', [], {
      onOutput: (o, c) => {
        child = c;
        if (!thawed && prev?.freezeUntil?.test(o)) { thawed = true; thaw(); }
        if (!p) return;
        p.watch?.(o, h);
        if (armed || !p.when(o)) return;
        armed = true;
        if (!p.whenStore) return kill();
        // Once the command has started, the run stands still (SIGSTOP) while the command gets to the
        // point, so that it cannot go on past it meanwhile (finish the step, or the run, and release
        // its lock). Stopped before it started the command, it would wait for it forever.
        const ws = p.whenStore;
        const started = p.started;
        let still = !started;
        poll = setInterval(() => {
          if (!still && started && c.pid && tree(c.pid).some((x) => started.test(x.args))) {
            still = true;
            c.kill('SIGSTOP');
          }
          if (ws(h)) kill();
        }, 2);
      },
    });
    clearInterval(poll);
    clearTimeout(fallback);
    lastOutput = run.output;
    thaw();
    frozenByPrevious = stopped;
    const where = p ? `the run to be killed ${p.title}` : 'the last run';
    if (!p) t.is(run.code, 0, `${where}:\n${run.output}`);
    else if (run.signal !== 'SIGKILL') t.fail(`${where} was not killed (exit ${run.code}):\n${run.output}`);
    if (prev) {
      if (prev.freezeUntil) t.true(thawed, `${where}: the output never matched ${prev.freezeUntil}:\n${run.output}`);
      const changed = changedBySteps(run.output);
      for (const [id, n] of changed) {
        if (id <= prev.done) t.is(n, 0, `${where}: step ${id} was done before the kill ${prev.title}; it changed:\n${run.output}\n\nThe killed run ended with:\n${previousOutput.slice(-2000)}`);
      }
      prev.checkNext?.(t, h, run.output, `after the kill ${prev.title}; the killed run ended with:\n${previousOutput.slice(-2000)}`);
    }
    if (!p || run.signal !== 'SIGKILL') {
      t.is(changedBySteps(run.output).size, 9, run.output);
      t.notRegex(run.stderr, /\(node:\d+\) \w*Warning/, `${where}: Node printed a warning`);
      t.false(existsSync(lockFileOf(h)), 'the last run released its lock');
      t.deepEqual(killed.flatMap(tempOf), [], 'no temp folder of a killed run is left');
      return h;
    }
    t.notRegex(run.output, /✘/, `${where} failed before the kill:\n${run.output}`);
    t.notRegex(run.stderr, /\(node:\d+\) \w*Warning/, `${where}: Node printed a warning`);
    if (p.freezeUntil) t.true(stopped.length > 0, `killed ${p.title}: no tool of the run was running to stop`);
    t.is(lockHolder(h)?.pid, child?.pid, `killed ${p.title}: the dead run's lock ${lockFileOf(h)} is left behind for the next run to take over`);
    if (child?.pid) {
      killed.push(child.pid);
      if (p.leavesTemp) t.true(tempOf(child.pid).length > 0, `killed ${p.title}: its temp folder is left behind for the next run to remove`);
    }
    try {
      await p.afterKill?.(t, h, run);
    } catch (err) {
      t.fail(`after the kill ${p.title}: ${/** @type {Error} */ (err).message}\n${run.output}`);
      return h;
    }
    previous = p;
  }
  return h;
}

test.serial('a second run while one is working is refused with exit 2 naming the first; the first finishes', async (t) => {
  const ref = reference();
  const h = await slot(async () => {
    const h = await e2eTwin(t);
    /** @type {Promise<import('../support/e2e.mjs').RunResult> | undefined} */
    let second;
    /** @type {number | undefined} */
    let firstPid;
    const first = await h.run('all.mjs', [], {
      onOutput: (o, c) => {
        // Start the second run while the first is in step 03 (it holds the lock from before step 01).
        if (second || !/── 03 ·/.test(o)) return;
        firstPid = c.pid;
        second = h.run('all.mjs');
      },
    });
    t.truthy(second, first.output);
    const refused = /** @type {import('../support/e2e.mjs').RunResult} */ (await second);
    t.is(refused.code, 2, refused.output);
    t.regex(refused.stderr, new RegExp(`refused: another run is working on cluster-a and cluster-b: npm run all \\(pid ${firstPid}, since `));
    t.notRegex(refused.output, /── 01 ·/, 'the refused run touched no step');
    t.is(first.code, 0, first.output);
    t.is(lockHolder(h), null, 'the first run released its lock');
    return h;
  });
  t.deepEqual(comparableState(h), (await ref).state);
});

test.serial("killed with its cilium mid-install (as by a power cut): the next run names the interrupted install and how to clear it, which works", (t) => slot(async () => {
  const h = await e2eTwin(t, { overrides: { TIMEOUT_CILIUM: '3s' } });
  h.twin.clusters.a.server.faults.latencyMs = 40; // keeps the install under way long enough to catch it pending
  let armed = false;
  /** @type {NodeJS.Timeout | undefined} */
  let poll;
  const first = await h.run('all.mjs', ['--only', '01'], {
    onOutput: (o, c) => {
      if (armed || !/^\$ cilium install --context cluster-a /m.test(o)) return;
      armed = true;
      poll = setInterval(() => {
        if (!helmStatuses(h, 'a').some((r) => r.status === 'pending-install') || !c.pid) return;
        clearInterval(poll);
        for (const pid of [...descendants(c.pid), c.pid]) process.kill(pid, 'SIGKILL');
      }, 2);
    },
  });
  clearInterval(poll);
  h.twin.clusters.a.server.faults.latencyMs = 0;
  t.is(first.signal, 'SIGKILL', first.output);
  t.deepEqual(helmStatuses(h, 'a'), [{ version: 1, status: 'pending-install' }]);

  const second = await h.run('all.mjs', ['--only', '01']);
  t.is(second.code, 1, second.output);
  t.notRegex(second.output, /^\$ cilium install/m, 'nothing was changed');
  t.regex(second.stderr, /Helm release cilium on cluster-a has been pending-install \(revision 1\) since \S+, longer than TIMEOUT_CILIUM \(3s\): the install was interrupted/);
  const advice = /`(kubectl --context cluster-a delete secret -n kube-system sh\.helm\.release\.v1\.cilium\.v1)`/.exec(second.stderr);
  t.truthy(advice, second.stderr);
  t.deepEqual(helmStatuses(h, 'a'), [{ version: 1, status: 'pending-install' }]);

  // Follow the advice, then run again: the install starts over and takes over what the interrupted one created.
  // (not execFileSync: the twin's API server runs on this thread's event loop)
  await promisify(execFile)('kubectl', (advice?.[1] ?? '').split(' ').slice(1), { env: h.env, timeout: scaled(60_000) });
  const third = await h.run('all.mjs', ['--only', '01']);
  t.is(third.code, 0, third.output);
  t.deepEqual(helmStatuses(h, 'a'), [{ version: 1, status: 'deployed' }]);
}));
