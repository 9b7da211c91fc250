// @ts-check
// Commands as a reader types them. `kubectl` and `cilium` are tagged templates,
// as in zx: the text is split into words at whitespace, and each ${value} is
// one word (or joins the word it touches: --timeout=${t}s); an array gives one
// word per element, a Manifest its file name (its YAML is written to that file
// while the command runs, and is a heredoc in a transcript). The result is data
// (tool and argv): the executor runs it, --dry-run shows it, --transcript
// prints it, and all three see the same argv.
//
//   kubectl`--context ${c.context} rollout status -n ${ns} deployment/${name}`
//     .waitsFor(`deployment/${name} on ${c.context}`, timeouts.rollout)
import { Manifest } from './manifests.mjs';

/** @typedef {import('./actions.js').Command} Command */
/** @typedef {import('./actions.js').Tool} Tool */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */

/** A command and how it runs. Each method returns a new command. @implements {Command} */
export class Cmd {
  /** @param {Tool} tool @param {string[]} args @param {Omit<Command, 'tool' | 'args'>} [opts] */
  constructor(tool, args, opts = {}) {
    this.tool = tool;
    this.args = args;
    /** @type {Command['files']} */ this.files = opts.files;
    /** @type {Command['stdin']} */ this.stdin = opts.stdin;
    /** @type {Command['read']} */ this.read = opts.read;
    /** @type {Command['helm']} */ this.helm = opts.helm;
    /** @type {Command['secret']} */ this.secret = opts.secret;
    /** @type {Command['wait']} */ this.wait = opts.wait;
    /** @type {Command['deadline']} */ this.deadline = opts.deadline;
    /** @type {Command['env']} */ this.env = opts.env;
  }

  /** @param {Partial<Command>} extra */
  with(extra) {
    const { tool, args, ...opts } = { ...this, ...extra };
    return new Cmd(tool, args, opts);
  }

  /** It waits (shown with elapsed time; its deadline follows the timeout). @param {string} what @param {number} seconds */
  waitsFor(what, seconds) { return this.with({ wait: { what, timeout: seconds } }); }

  /** It only reads: safe to retry, and a check may share its answer. */
  readOnly() { return this.with({ read: true }); }

  /** A Helm operation on these clusters' release `cilium` (retried after dropping an unfinished revision). @param {...ClusterConfig} clusters */
  helmOn(...clusters) { return this.with({ helm: clusters }); }

  /** Its stdout holds Secret data: never printed, logged or written. */
  holdsSecret() { return this.with({ secret: true }); }

  /** Piped to its stdin (`-f -`). @param {Manifest} manifest */
  withStdin(manifest) { return this.with({ stdin: manifest }); }

  /** Environment variables for this process only. @param {Record<string, string>} env */
  withEnv(env) { return this.with({ env }); }

  /** Its own deadline, when neither a wait nor Helm says it. @param {number} seconds @param {string} why */
  withDeadline(seconds, why) { return this.with({ deadline: { seconds, why } }); }
}

/**
 * The words of a tagged template, as zx splits them.
 * @param {TemplateStringsArray} strings
 * @param {unknown[]} values
 * @returns {{ args: string[], files: Manifest[] }}
 */
export function wordsOf(strings, values) {
  /** @type {string[]} */
  const args = [];
  /** @type {Manifest[]} */
  const files = [];
  let word = /** @type {string | null} */ (null);
  const end = () => { if (word !== null) args.push(word); word = null; };
  /** @param {string} text */
  const text = (text) => {
    const parts = text.split(/\s+/);
    parts.forEach((p, i) => {
      if (i > 0) end();
      if (p) word = (word ?? '') + p;
    });
  };
  strings.forEach((s, i) => {
    text(s);
    if (i >= values.length) return;
    const v = values[i];
    const list = Array.isArray(v) ? v : [v];
    list.forEach((item, j) => {
      if (j > 0) end();
      let w;
      if (item instanceof Manifest) {
        files.push(item);
        w = item.name;
      } else {
        if (item === undefined || item === null || typeof item === 'object') throw new TypeError(`command word ${j} of \${…} ${i} is ${item === null ? 'null' : typeof item}`);
        w = String(item);
      }
      word = (word ?? '') + w;
    });
  });
  end();
  return { args, files };
}

/** @param {Tool} tool */
const tag = (tool) => (/** @type {TemplateStringsArray} */ strings, /** @type {unknown[]} */ ...values) => {
  const { args, files } = wordsOf(strings, values);
  return new Cmd(tool, args, files.length ? { files } : {});
};

/** ``kubectl`--context ${c.context} get nodes` `` */
export const kubectl = tag('kubectl');
/** ``cilium`status --context ${c.context} --wait` `` */
export const cilium = tag('cilium');

/** The value of `--context` in an argv (`--context x` or `--context=x`), or ''. @param {readonly string[]} args */
export function contextOf(args) {
  for (const [i, a] of args.entries()) {
    if (a === '--context') return args[i + 1] ?? '';
    if (a.startsWith('--context=')) return a.slice('--context='.length);
  }
  return '';
}

