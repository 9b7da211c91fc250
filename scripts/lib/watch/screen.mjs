// @ts-check
// The terminal side of the live view, with Node's own readline and tty: the
// alternate screen (the shell's screen comes back on quit), a frame redrawn in
// place (cursor home, each line cleared to its end, the rest of the screen
// cleared), the cursor hidden, and keys read in raw mode so that `q` or Ctrl-C
// quits at once. Whatever ends the process, the terminal is given back.
import { cursorTo, clearScreenDown } from 'node:readline';

const ALT_ON = '\x1b[?1049h';
const ALT_OFF = '\x1b[?1049l';
const CURSOR_OFF = '\x1b[?25l';
const CURSOR_ON = '\x1b[?25h';
const CLEAR_TO_END = '\x1b[K';

/**
 * Takes over the terminal; calls onQuit once with 'key' (q, Q, Ctrl-C, Ctrl-D)
 * or the signal's name.
 * @param {{ stdout: NodeJS.WriteStream, stdin: NodeJS.ReadStream, onQuit: (why: string) => void }} o
 */
export function liveScreen({ stdout, stdin, onQuit }) {
  let active = true;
  const raw = Boolean(stdin.isTTY);
  const leave = () => {
    if (!active) return;
    active = false;
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    stdout.write(CURSOR_ON + ALT_OFF);
  };
  const quit = (/** @type {string} */ why) => {
    leave();
    onQuit(why);
  };
  stdout.write(ALT_ON + CURSOR_OFF);
  process.once('exit', leave);
  if (raw) {
    stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    stdin.on('data', (/** @type {string} */ d) => {
      if (/[qQ\x03\x04]/.test(d)) quit('key');
    });
    stdin.resume();
  }
  for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) process.once(sig, () => quit(sig));
  return {
    /** Columns to draw in. */
    columns: () => stdout.columns || 80,
    /** @param {string[]} lines cut to the terminal's rows: a frame that scrolled would redraw in the wrong place */
    draw(lines) {
      if (!active) return;
      cursorTo(stdout, 0, 0);
      stdout.write(lines.slice(0, stdout.rows || lines.length).map((l) => l + CLEAR_TO_END).join('\n'));
      clearScreenDown(stdout);
    },
    leave,
  };
}
