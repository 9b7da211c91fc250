// @ts-check
// Colour on a terminal, and the two ways to turn it off: NO_COLOR (any value)
// and FORCE_COLOR=0. The script runs on a real pseudo-terminal (util-linux
// `script`), where it would colour its error red; a settings error (RUNBOOK_ENV
// naming a missing file) makes it print one without any cluster.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../support/e2e.mjs';
import { colourWanted } from '../../scripts/lib/output.mjs';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const ESC = '\x1b[';

/**
 * Runs status.mjs on a pseudo-terminal with these variables; its output as the terminal got it.
 * @param {Record<string, string>} vars
 * @returns {Promise<{ code: number | null, output: string }>}
 */
function onTerminal(vars) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['NO_COLOR', 'FORCE_COLOR', 'TERM'].includes(k)));
  Object.assign(env, { TERM: 'xterm', RUNBOOK_ENV: path.join(ROOT, 'no-such-dir', 'runbook.env'), ...vars });
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', `${JSON.stringify(process.execPath)} scripts/status.mjs`, '/dev/null'],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.setEncoding('utf8').on('data', (d) => { output += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { output += d; });
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, output }); });
  });
}

test('on a terminal: colour; none with FORCE_COLOR=0, FORCE_COLOR=false or NO_COLOR=1', async (t) => {
  if (!hasScript) return t.pass('util-linux script is not installed: no pseudo-terminal to test on');
  const plain = await onTerminal({});
  t.is(plain.code, 2, plain.output);
  t.true(plain.output.includes(`${ESC}31m`), `red on a terminal: ${JSON.stringify(plain.output.slice(0, 80))}`);
  for (const vars of /** @type {Record<string, string>[]} */ ([{ FORCE_COLOR: '0' }, { FORCE_COLOR: 'false' }, { NO_COLOR: '1' }])) {
    const r = await onTerminal(vars);
    t.is(r.code, 2, r.output);
    t.regex(r.output, /The runbook's settings have/, JSON.stringify(vars));
    t.false(r.output.includes(ESC), `${JSON.stringify(vars)}: ${JSON.stringify(r.output.slice(0, 80))}`);
  }
});

test('colourWanted: NO_COLOR and FORCE_COLOR=0 win over a terminal; FORCE_COLOR=1 colours a pipe', (t) => {
  t.true(colourWanted({}, true));
  t.false(colourWanted({}, false));
  t.false(colourWanted({ TERM: 'dumb' }, true));
  t.false(colourWanted({ FORCE_COLOR: '0' }, true));
  t.false(colourWanted({ NO_COLOR: '1' }, true));
  t.false(colourWanted({ NO_COLOR: '1', FORCE_COLOR: '1' }, true));
  t.true(colourWanted({ NO_COLOR: '' }, true), 'an empty NO_COLOR does not count');
  t.true(colourWanted({ FORCE_COLOR: '1' }, false));
});
