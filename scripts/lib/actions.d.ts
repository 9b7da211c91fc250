// Steps are lists of actions; actions are data that one executor runs, shows
// (--dry-run) or turns into bash (--transcript).
import type { Config, ClusterConfig } from './types.js';
import type { Manifest } from './manifests.mjs';
import type { Runtime } from './runtime.mjs';

export type Tool = 'kubectl' | 'cilium';

export interface Command {
  tool: Tool;
  /** argv after the tool name. A file given in `files` is named by its Manifest.name. */
  args: string[];
  /** The cluster the command talks to (for error messages). */
  cluster?: ClusterConfig;
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

export interface Action {
  title: string;
  cluster?: ClusterConfig;
  /** Read-only probe. Never changes anything. */
  check(rt: Runtime): Promise<CheckResult>;
  /** The change as commands, run in order. */
  commands?: Command[];
  /** A change that needs code (in-memory pipes, HTTP). Replaces `commands` in run mode. */
  run?(rt: Runtime, check: CheckResult): Promise<string | void>;
  /** Waits and checks after the change, or when check says 'verify'. */
  verify?: Command[];
  /** Code that verifies (HTTP checks). Runs after `verify` commands. */
  verifyRun?(rt: Runtime, check: CheckResult): Promise<string | void>;
  /** On failure: a read-only look for a known cause, returned as advice. */
  hint?(rt: Runtime, error: Error): Promise<string | undefined>;
  /** Bash lines for the transcript, replacing commands + verify there. */
  transcript?: string[];
  /** `npm run status` prints this check's detail under this label (the mesh's connection, a VIP's answer). */
  statusLabel?: string;
}

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
  actions(config: Config, opts: StepOptions): Action[];
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
