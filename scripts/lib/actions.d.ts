// Steps are lists of actions; actions are data that one executor runs, shows
// (--dry-run) or turns into bash (--transcript).
import type { Config, ClusterConfig } from './types.js';
import type { Manifest } from './manifests.mjs';
import type { Runtime } from './runtime.mjs';

export type Tool = 'kubectl' | 'cilium';

export interface Command {
  tool: Tool;
  /** argv after the tool name (with `--context`: the cluster it talks to). A file given in `files` is named by its Manifest.name. */
  args: string[];
  /** Piped to stdin (`-f -`). */
  stdin?: Manifest;
  /** Files the command reads: written to a private temp folder while it runs; heredocs in a transcript. */
  files?: Manifest[];
  /** Only reads: safe to retry. (kubectl calls of the runbook are all safe to repeat.) */
  read?: boolean;
  /**
   * A Helm operation on these clusters' release `cilium` (install, upgrade): on a
   * transient API error it runs again, after dropping the revision it left unfinished.
   */
  helm?: ClusterConfig[];
  /** stdout carries Secret data: never printed, logged or written anywhere. */
  secret?: boolean;
  /** A wait: shown with elapsed time and timeout while it runs. */
  wait?: { what: string; timeout: number };
  /**
   * How long it may run, when neither its wait's timeout nor the Helm or plain
   * bound says it (e.g. a tool that waits twice): seconds and why, before the margin.
   */
  deadline?: { seconds: number; why: string };
  /** Environment variables for this process only (shown before the command, as bash takes them). */
  env?: Record<string, string>;
}

export type CheckResult =
  /** Nothing to do. */
  | { state: 'done'; detail?: string }
  /** The change is needed. `data` carries what the check read, for run(). */
  | { state: 'todo'; detail?: string; data?: any }
  /** The change was made before (maybe by a run that was killed); only verify is left. */
  | { state: 'verify'; detail?: string; data?: any }
  /** Cannot go on: message says why and what to do. Nothing is changed. */
  | { state: 'blocked'; message: string };

/**
 * Code that carries out part of an action where a command alone cannot (an
 * in-memory pipe, an HTTP poll), with the bash that does the same: shown by
 * --dry-run, printed by --transcript, written in the lab guide.
 */
export interface Code {
  bash: string[];
  /** Returns a detail for the action's result line. */
  run(rt: Runtime, check: CheckResult): Promise<string | void>;
}

/** One thing an action does: a command, or code with its bash. */
export type Item = Command | Code;

export interface Action {
  title: string;
  /** Read-only: is it done, to do, left to verify, or blocked? Never changes anything. */
  check(rt: Runtime): Promise<CheckResult>;
  /** The change, in order (when check says 'todo'). */
  run?: Item[];
  /** After the change, or when check says 'verify': waits and checks, in order. */
  verify?: Item[];
  /** The result line's detail once verified after a change (else the check's, or what code returned). */
  outcome?: string;
  /** On failure: a read-only look for a known cause, returned as advice. */
  hint?(rt: Runtime, error: Error): Promise<string | undefined>;
  /** `npm run status` prints this check's detail under this label (the mesh's connection, a VIP's answer). */
  statusLabel?: string;
}

/** Actions that run at the same time, one list per cluster; output stays grouped by list. */
export interface Lanes {
  lanes: Action[][];
}

/** What a step declares: actions in order, some of them side by side. */
export type Plan = Action | Lanes;

export interface StepOption {
  flag: string;
  help: string;
}

export interface StepOptions {
  /** Step-specific flags given on the command line (e.g. keep-down). */
  flags: Set<string>;
}

export interface Step {
  /** "01" … "09" (and "10", the teardown, which `npm run all` does not run) */
  id: string;
  /** file name without .mjs, e.g. "01-install-a" */
  name: string;
  title: string;
  /** The step's own script, whose header comment is its --help text. */
  file: string;
  options?: StepOption[];
  /** Tools the step runs besides kubectl. */
  tools?: Tool[];
  actions(config: Config, opts: StepOptions): Plan[];
  /**
   * What other steps must have done, checked read-only before this step changes
   * anything (and only then: a finished step costs no extra probe). Returns why
   * the step cannot run yet, naming the step to run first, or null.
   */
  ready?(rt: Runtime, config: Config): Promise<string | null>;
  /**
   * Asked when the step script is run for real (not --dry-run or --transcript),
   * after the settings are checked and before anything is touched: null to go
   * on, or why not (the script exits 2). Step 10 asks for --yes here.
   */
  confirm?(config: Config, opts: StepOptions): Promise<string | null>;
  /** What its transcript is run on, when not "a fresh pair of clusters". */
  runsOn?: string;
}
