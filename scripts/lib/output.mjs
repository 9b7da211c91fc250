// @ts-check
// What the runbook prints. One place decides colours and how commands, results
// and waits look, so every step reads the same way. Colours are zx's chalk.
import { chalk } from 'zx';
import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Whether to print colour: NO_COLOR (any value but empty) and FORCE_COLOR=0 (or
 * false) turn it off; another FORCE_COLOR value turns it on; otherwise only on
 * a terminal that is not TERM=dumb.
 * @param {NodeJS.ProcessEnv} env
 * @param {boolean} terminal
 */
export function colourWanted(env, terminal) {
  if (env.NO_COLOR) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !['0', 'false'].includes(force.trim().toLowerCase());
  return terminal && env.TERM !== 'dumb';
}

const tty = Boolean(process.stdout.isTTY);
// Our rule (NO_COLOR, FORCE_COLOR=0, a terminal) decides, for zx's own output too.
// (zx's chalk may report no level until one is set, and detects none under CI=true.)
if (!colourWanted(process.env, tty)) chalk.level = 0;
else if (!(Number(chalk.level) >= 1)) chalk.level = 1;
/** @type {Record<'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan', (s: string) => string>} */
export const style = {
  bold: (s) => chalk.bold(s), dim: (s) => chalk.dim(s), red: (s) => chalk.red(s),
  green: (s) => chalk.green(s), yellow: (s) => chalk.yellow(s), cyan: (s) => chalk.cyan(s),
};
/** Whether stdout is a terminal (a live wait line instead of one every 10 s). */
export const isTerminal = tty;

/**
 * Output of actions that run side by side (one lane per cluster): the first
 * lane prints as it goes, the others into a buffer that is printed, in order,
 * once the lanes before them are done; from then on they print as they go.
 * @typedef {{ buffer: { err: boolean, text: string }[] | null }} Lane
 */
/** @type {AsyncLocalStorage<Lane>} */
const lanes = new AsyncLocalStorage();

/**
 * Runs each function in a lane of its own, at the same time; output stays grouped by lane.
 * @template T
 * @param {(() => Promise<T>)[]} fns
 * @returns {Promise<PromiseSettledResult<T>[]>}
 */
export async function sideBySide(fns) {
  /** @type {Lane[]} */
  const all = fns.map((_, i) => ({ buffer: i === 0 ? null : [] }));
  // Settled at once: a lane that fails while an earlier one still runs is no unhandled rejection.
  const done = fns.map((fn, i) => lanes.run(all[i], fn).then((value) => ({ status: /** @type {const} */ ('fulfilled'), value }),
    (reason) => ({ status: /** @type {const} */ ('rejected'), reason })));
  /** @type {PromiseSettledResult<T>[]} */
  const results = [];
  for (const [i, p] of done.entries()) {
    results.push(await p);
    const next = all[i + 1];
    if (!next) continue;
    for (const l of next.buffer ?? []) (l.err ? process.stderr : process.stdout).write(l.text);
    next.buffer = null;
  }
  return results;
}

/** Whether this code runs in a lane that prints into a buffer now. */
const buffered = () => Boolean(lanes.getStore()?.buffer);

/** @param {string} text @param {boolean} err */
function emit(text, err) {
  const buffer = lanes.getStore()?.buffer;
  if (buffer) buffer.push({ err, text });
  else (err ? process.stderr : process.stdout).write(text);
}

/** @param {string} s */
const write = (s) => emit(s + '\n', false);

export const out = {
  /** @param {string} id @param {string} title */
  step(id, title) { write(`\n${style.bold(`── ${id} · ${title}`)}`); },
  /** A command that is about to run. @param {string} line */
  command(line) { write(style.cyan(`$ ${line}`)); },
  /** A read-only probe (shown with --verbose and --dry-run). @param {string} line */
  probe(line) { write(style.dim(`  ? ${line}`)); },
  /** Indented output of a command. @param {string} text */
  detail(text) {
    for (const l of text.replace(/\n+$/, '').split('\n')) write(style.dim(`    ${l}`));
  },
  /** @param {string} text */
  info(text) { write(text); },
  /** @param {string} text */
  warn(text) { write(style.yellow(text)); },
  /** @param {string} text */
  error(text) { emit(style.red(text) + '\n', true); },
  /** @param {'ok'|'changed'|'failed'|'would change'|'interrupted'} verdict @param {string} title @param {string} [detail] */
  result(verdict, title, detail) {
    const mark = { ok: style.green('✔ ok     '), changed: style.yellow('✚ changed'), failed: style.red('✘ failed '),
      'would change': style.yellow('… would change'), interrupted: style.yellow('✋ interrupted') }[verdict];
    write(`${mark} ${title}${detail ? style.dim(` — ${detail}`) : ''}`);
  },
};

/**
 * Shows that something is being waited for: a live line on a terminal, a line
 * every 10 s otherwise. Returns a function that ends the display.
 * @param {string} what
 * @param {number} timeoutSeconds
 * @returns {() => void}
 */
export function showWait(what, timeoutSeconds) {
  const started = Date.now();
  const line = () => `  ⏳ waiting for ${what} — ${Math.round((Date.now() - started) / 1000)}s of ${timeoutSeconds}s`;
  // A lane printing into its buffer shows no wait: the lane on screen does.
  if (tty) {
    let drawn = false;
    const timer = setInterval(() => {
      if (buffered()) return;
      drawn = true;
      process.stdout.write(`\r${style.dim(line())}\x1b[K`);
    }, 1000);
    return () => { clearInterval(timer); if (drawn) process.stdout.write('\r\x1b[K'); };
  }
  const timer = setInterval(() => { if (!buffered()) write(line()); }, 10_000);
  return () => clearInterval(timer);
}
