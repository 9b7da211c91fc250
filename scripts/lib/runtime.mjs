// @ts-check
// Runs kubectl and cilium for the steps: argv arrays through zx (which quotes
// every word), the config's KUBECONFIG in the environment, stdin from rendered
// manifests, files in a private temp folder that is removed at once (or by the
// next run, when this one is killed). Reads
// (kubectl calls, read-only cilium waits) are retried with backoff on transient
// API errors, and so are Helm operations (cilium install, clustermesh enable and
// connect) once the revision a failed attempt left unfinished is dropped. An
// unreachable API server ends in an error that names the cluster and its
// address; a wait that times out, in one that says what it waited for and what
// it last saw. Every process has a deadline (deadlineOf: a wait's own timeout
// and a margin, a Helm operation TIMEOUT_CILIUM, anything else a short fixed
// bound): past it the process is killed and the error says what it waited for,
// how long it ran and why that deadline. Secret output is never printed. Every
// process start is counted (the benchmark reads the counts).
import { $ } from 'zx';
import { appendFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setMaxListeners } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { commandLine, shellQuote } from './bash-text.mjs';
import { out, showWait } from './output.mjs';
import { lastSeen } from './wait-report.mjs';
import { unfinishedRevisions, dropUnfinished } from './helm-records.mjs';
import { tempPrefix } from './lock.mjs';
import { contextOf } from './commands.mjs';
import { SharedReads, asCheck, asChange, inCheck } from './shared-reads.mjs';

/** @typedef {import('./actions.js').Command} Command */
/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {'run' | 'dry-run' | 'transcript'} Mode */

/** A failed kubectl/cilium call. The message is safe to print (no Secret data). */
export class ToolError extends Error {
  /**
   * @param {string} message
   * @param {{ line: string, code: number | null, stderr: string, stdout?: string, killed?: boolean }} info
   */
  constructor(message, info) {
    super(message);
    this.line = info.line;
    this.code = info.code;
    this.stderr = info.stderr;
    /** stdout of a command whose output is not secret (for hints), else '' */
    this.stdout = info.stdout ?? '';
    /** Killed at its deadline (it did not end by itself). */
    this.killed = info.killed ?? false;
  }
}

/** Seconds a command that does not wait may run (a read, a kubectl change): a few API calls. */
export const PLAIN_DEADLINE = 60;
/** Seconds a wait may run past its own timeout: the tool's start, its last poll and its report. */
export const DEADLINE_MARGIN = 30;

/**
 * How long a command may run before it is killed, and why that long.
 * @param {Command} cmd
 * @param {Config['timeouts']} timeouts
 * @param {{ plain: number, margin: number }} [bounds] PLAIN_DEADLINE and DEADLINE_MARGIN unless given
 * @returns {{ seconds: number, why: string }}
 */
export function deadlineOf(cmd, timeouts, bounds = { plain: PLAIN_DEADLINE, margin: DEADLINE_MARGIN }) {
  const { plain, margin } = bounds;
  if (cmd.deadline) return { seconds: cmd.deadline.seconds + margin, why: `${cmd.deadline.why}, and a ${margin}s margin` };
  if (cmd.wait) return { seconds: cmd.wait.timeout + margin, why: `its wait's ${cmd.wait.timeout}s and a ${margin}s margin` };
  if (cmd.helm) {
    const s = Math.max(plain, timeouts.cilium);
    return { seconds: s + margin, why: `a Helm operation: ${s}s (TIMEOUT_CILIUM, at least ${plain}s) and a ${margin}s margin` };
  }
  return { seconds: plain, why: 'the bound of a command that does not wait' };
}

const TRANSIENT = [
  /InternalError/, /Internal error/i, /an error on the server/i, /the server is currently unable/i,
  /connection reset/i, /unexpected EOF/i, /\bEOF\b/, /TLS handshake timeout/i, /i\/o timeout/i,
  /http2: /i, /Client\.Timeout/i, /broken pipe/i, /socket hang up/i, /ECONNRESET/, /status code 500/i,
  /the object has been modified/i,
];
const UNREACHABLE = [/connection.*refused/i, /ECONNREFUSED/, /no route to host/i, /Unable to connect to the server/i];

/** @param {string} stderr */
export const isTransient = (stderr) => TRANSIENT.some((r) => r.test(stderr));
/** @param {string} stderr */
export const isUnreachable = (stderr) => UNREACHABLE.some((r) => r.test(stderr));

/** A server that takes connections but does not answer (stopped, hung): kubectl gave up waiting. */
const SILENT = /TLS handshake timeout|i\/o timeout|context deadline exceeded|Client\.Timeout/i;
/** @param {string} stderr */
export const isSilent = (stderr) => isUnreachable(stderr) && SILENT.test(stderr);
/**
 * An attempt that failed this slowly already waited out kubectl's own timeouts
 * (10 s per TLS handshake, five tries for discovery): trying again only
 * multiplies the wait before the user hears that a server does not answer.
 */
const SLOW_FAILURE_MS = 10_000;

/**
 * Node's abortable timer (it drops its abort listener when the time is up).
 * @param {number} ms @param {AbortSignal} [signal]
 */
export const sleep = (ms, signal) => delay(ms, undefined, { signal });

export class Runtime {
  /**
   * @param {{ config: Config, mode: Mode, verbose?: boolean, signal?: AbortSignal, retries?: number,
   *   bounds?: { plain: number, margin: number }, reads?: SharedReads, step?: string, env?: NodeJS.ProcessEnv }} opts
   *   bounds: PLAIN_DEADLINE and DEADLINE_MARGIN unless given; reads: answers shared with other runtimes of the run;
   *   step: the id of the step it runs; env: the environment processes start from (process.env unless given)
   */
  constructor(opts) {
    this.reads = opts.reads ?? new SharedReads();
    this.step = opts.step ?? '';
    this.config = opts.config;
    this.mode = opts.mode;
    this.verbose = opts.verbose ?? false;
    this.signal = opts.signal ?? new AbortController().signal;
    // Each running process holds an abort listener on the run's signal (Node's and
    // zx's) until it exits; checks that start together pass Node's default of 10
    // and it would print a MaxListenersExceededWarning into the run's output.
    setMaxListeners(100, this.signal);
    /** Attempts after the first for reads and idempotent writes. */
    this.retries = opts.retries ?? 4;
    /** Processes started, by tool. */
    this.counts = { kubectl: 0, cilium: 0 };
    /** @type {NodeJS.ProcessEnv} */
    this.env = { ...(opts.env ?? process.env), KUBECONFIG: opts.config.kubeconfig };
    this.bounds = opts.bounds ?? { plain: PLAIN_DEADLINE, margin: DEADLINE_MARGIN };
  }

  /**
   * Starts one tool process, the only place the runbook does: argv through zx,
   * killed (with the processes it started) when it runs past its deadline, which the
   * error then names with what the process was waiting for.
   * @param {Command} cmd
   * @param {{ args?: string[], env?: NodeJS.ProcessEnv, line?: string }} [o] args: argv with file paths; line: as shown
   * @returns {Promise<{ exitCode: number | null, stdout: string, stderr: string }>}
   */
  async start(cmd, o = {}) {
    const deadline = deadlineOf(cmd, this.config.timeouts, this.bounds);
    this.counts[cmd.tool]++;
    const started = Date.now();
    const p = $({
      input: cmd.stdin?.yaml, nothrow: true, quiet: true, verbose: false, env: { ...this.env, ...cmd.env, ...o.env }, signal: this.signal,
    })`${cmd.tool} ${o.args ?? cmd.args}`;
    let killed = false;
    const timer = setTimeout(() => { killed = true; p.kill('SIGKILL').catch(() => {}); }, deadline.seconds * 1000);
    let r;
    try {
      r = await p;
    } finally {
      clearTimeout(timer);
    }
    if (!killed) return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
    const line = o.line ?? this.line(cmd);
    const ran = Math.round((Date.now() - started) / 1000);
    const what = cmd.wait ? `it was waiting for ${cmd.wait.what}` : `it had not answered`;
    const said = cmd.secret ? '' : telling(`${r.stdout}\n${r.stderr}`);
    throw new ToolError(
      `${line}: killed after ${ran}s, past its deadline of ${deadline.seconds}s (${deadline.why}); ${what}` +
      `${said ? `. Its last words: ${said}` : ''}`,
      { line, code: null, stderr: r.stderr, stdout: cmd.secret ? '' : r.stdout, killed: true });
  }

  /** The line a reader would type. @param {Command} cmd */
  line(cmd) {
    const env = Object.entries(cmd.env ?? {}).map(([k, v]) => `${k}=${shellQuote(v)} `).join('');
    return env + commandLine(cmd.tool, cmd.args) + (cmd.stdin ? ` < ${cmd.stdin.name}` : '');
  }

  /**
   * Runs a wait that custom code does (polling HTTP, waiting for a CRD to
   * appear), showing what it waits for with elapsed time and timeout.
   * @template T
   * @param {string} what
   * @param {number} timeout seconds
   * @param {() => Promise<T>} fn
   * @returns {Promise<T>}
   */
  async withWait(what, timeout, fn) {
    const stop = showWait(what, timeout);
    try {
      return await fn();
    } finally {
      stop();
    }
  }

  /** Shows a command line that custom code is about to carry out. @param {string} line */
  announce(line) {
    out.command(line);
  }

  /** Shows a read-only probe that custom code made (with --verbose or --dry-run). @param {string} line */
  announceProbe(line) {
    out.probe(line);
  }

  /**
   * A read-only probe: shown with --verbose or --dry-run, retried on transient
   * errors. Inside a check, it shares the answer of the same probe made since
   * the last change.
   * @param {Command} cmd
   */
  async probe(cmd) {
    const line = this.line(cmd);
    const read = () => {
      if (this.verbose || this.mode === 'dry-run') out.probe(line);
      return this.execute({ ...cmd, read: true }, { quiet: true });
    };
    return inCheck() ? this.reads.get(`${line}\0${JSON.stringify(cmd.env ?? {})}`, read) : read();
  }

  /** Runs a check: its probes may share answers. @template T @param {() => Promise<T>} fn */
  checking(fn) {
    return asCheck(fn);
  }

  /** Runs code that changes or waits: answers read before it no longer count. @template T @param {() => Promise<T>} fn */
  changing(fn) {
    this.reads.changed();
    return asChange(fn);
  }

  /** The cluster a command talks to (its --context), if it is one of the config's. @param {Command} cmd */
  clusterOf(cmd) {
    const ctx = contextOf(cmd.args);
    return this.config.clusters.find((c) => c.context === ctx);
  }

  /**
   * `kubectl get … -o json`, parsed. With --ignore-not-found a List of what exists.
   * @param {Command} cmd
   * @returns {Promise<any>}
   */
  async probeJson(cmd) {
    const { stdout } = await this.probe(cmd);
    if (!stdout.trim()) return { items: [] };
    try {
      return JSON.parse(stdout);
    } catch {
      throw new ToolError(`${this.line(cmd)} printed no JSON`, { line: this.line(cmd), code: 0, stderr: '' });
    }
  }

  /**
   * Runs a command that changes or waits. Printed before it runs.
   * @param {Command} cmd
   * @param {{ quiet?: boolean }} [opts] quiet: not printed
   * @returns {Promise<{ stdout: string, stderr: string }>}
   */
  async exec(cmd, opts = {}) {
    this.reads.changed();
    // The tests hold what a run executed to its transcript and step file: step id and argv (never Secret data).
    if (process.env.RUNBOOK_EXEC_LOG) appendFileSync(process.env.RUNBOOK_EXEC_LOG, `${this.step}\t${JSON.stringify([cmd.tool, ...cmd.args])}\n`);
    return this.execute(cmd, opts);
  }

  /**
   * @param {Command} cmd
   * @param {{ quiet?: boolean }} opts
   * @returns {Promise<{ stdout: string, stderr: string }>}
   */
  async execute(cmd, opts) {
    const line = this.line(cmd);
    if (!opts.quiet) out.command(line);
    let dir = '';
    let args = cmd.args;
    if (cmd.files?.length) {
      dir = mkdtempSync(tempPrefix());
      for (const f of cmd.files) writeFileSync(join(dir, f.name), f.yaml, { mode: 0o600 });
      const names = new Map(cmd.files.map((f) => [f.name, join(dir, f.name)]));
      args = args.map((a) => names.get(a) ?? a);
    }
    const stopWait = cmd.wait ? showWait(cmd.wait.what, cmd.wait.timeout) : () => {};
    const started = Date.now();
    try {
      for (let attempt = 0; ; attempt++) {
        const attemptStarted = Date.now();
        const p = await this.start(cmd, { args, line });
        const stdout = p.stdout;
        const stderr = p.stderr;
        if (p.exitCode === 0) {
          // Helm logs and ignores a failed final record update: the command succeeds, its revision stays pending.
          const left = cmd.helm ? await unfinishedRevisions(this, cmd.helm, started) : [];
          if (left.length && attempt < this.retries && left.every((x) => x.retryable)) {
            out.warn(`  ↻ transient error, retrying: ${left.map((x) => x.what).join('; ')} (its final record update failed)`);
            await dropUnfinished(this, cmd.helm ?? [], started);
            await sleep(200 * 2 ** attempt, this.signal);
            continue;
          }
          if (left.length) {
            throw new ToolError(`${line} exited 0 but left ${left.map((x) => x.what).join('; ')}: its final record update failed. ` +
              `Helm refuses the next operation on that release until the record is repaired (${left.map((x) => x.fix).join('; ')}).`,
            { line, code: 0, stderr, stdout: cmd.secret ? '' : stdout });
          }
          if (this.verbose && !opts.quiet && !cmd.secret && stdout.trim()) out.detail(stdout);
          return { stdout, stderr };
        }
        const retryable = (isTransient(stderr) || isUnreachable(stderr)) && !(isSilent(stderr) && Date.now() - attemptStarted >= SLOW_FAILURE_MS);
        if (retryable && attempt < this.retries && (cmd.read || cmd.tool === 'kubectl' || cmd.helm)) {
          if (this.verbose || cmd.helm) out.warn(`  ↻ transient error, retrying: ${firstLine(stderr)}`);
          if (cmd.helm) await dropUnfinished(this, cmd.helm, started);
          await sleep(200 * 2 ** attempt, this.signal);
          continue;
        }
        const err = this.failure(cmd, line, p.exitCode, stderr, cmd.secret ? '' : stdout);
        if (cmd.wait && cmd.tool === 'kubectl' && TIMED_OUT.test(stderr)) err.message += await lastSeen(this, cmd);
        throw err;
      }
    } finally {
      stopWait();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * @param {Command} cmd @param {string} line @param {number | null} code @param {string} stderr @param {string} stdout
   */
  failure(cmd, line, code, stderr, stdout) {
    const c = this.clusterOf(cmd);
    if (c && isUnreachable(stderr)) {
      return new ToolError(
        `cluster ${c.label} (context ${c.context}): the API server at ${c.server} ${isSilent(stderr) ? 'does not answer' : 'is not reachable'} — ${telling(stderr)}`,
        { line, code, stderr, stdout });
    }
    const why = stderr.trim() || stdout.trim().split('\n').slice(-3).join('\n') || `exit code ${code}`;
    return new ToolError(`${line} failed: ${why}`, { line, code, stderr, stdout });
  }
}

const TIMED_OUT = /timed out waiting|exceeded its progress deadline/i;

/**
 * The line of a tool's stderr that says what went wrong: its last one that is
 * not a klog line (kubectl logs "E1126 10:51:42.949865 … memcache.go …" before
 * "The connection to the server … was refused").
 * @param {string} s
 */
export const telling = (s) => s.trim().split('\n').filter((l) => l.trim() && !/^[IWEF]\d{4} \d\d:\d\d:\d\d/.test(l)).pop() ?? firstLine(s);

/** @param {string} s */
export const firstLine = (s) => s.trim().split('\n').find((l) => l.trim()) ?? '';
