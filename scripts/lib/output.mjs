// @ts-check
// What the runbook prints. One place decides colours and how commands, results
// and waits look, so every step reads the same way. Colours are zx's chalk.
import { chalk } from 'zx';

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

/** @param {string} s */
const write = (s) => process.stdout.write(s + '\n');

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
  error(text) { process.stderr.write(style.red(text) + '\n'); },
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
  if (tty) {
    const timer = setInterval(() => process.stdout.write(`\r${style.dim(line())}\x1b[K`), 1000);
    return () => { clearInterval(timer); process.stdout.write('\r\x1b[K'); };
  }
  const timer = setInterval(() => write(line()), 10_000);
  return () => clearInterval(timer);
}
