// @ts-check
// `npm run twin` as a workshop runs it (issue 8): stopping npm in any way stops
// the twin (no `node twin/serve.mjs` left behind), removes its folder and gives
// its addresses back; the PATH line it prints carries only the twin's folders
// before the shell's $PATH; CILIUM is checked before anything starts.
import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NETS_DIR } from '../../twin/hosting.mjs';
import { TWIN_BIN, TOOLS_BIN } from '../../twin/runbook-env.mjs';
import { gone, npmRun, npmTwin, until } from '../support/npm-twin.mjs';

/** @type {Array<[string, NodeJS.Signals, boolean]>} way, signal, to npm's whole process group */
const WAYS = [
  ['Ctrl-C in the terminal (SIGINT to npm\'s process group)', 'SIGINT', true],
  ['SIGINT to npm alone', 'SIGINT', false],
  ['SIGTERM to npm', 'SIGTERM', false],
  ['SIGHUP to npm (the terminal closed)', 'SIGHUP', false],
  ['SIGKILL to npm', 'SIGKILL', false],
];

for (const [way, signal, group] of WAYS) {
  test.serial(`${way} stops node twin/serve.mjs, removes its folder and frees its addresses`, async (t) => {
    const twin = await npmTwin(t, undefined, { detached: group });
    t.true(existsSync(twin.dir), twin.text);
    const lock = join(NETS_DIR, twin.net.split('.')[1]);
    t.true(existsSync(lock), `the claim on ${twin.net} is held`);
    if (group) process.kill(-(/** @type {number} */ (twin.child.pid)), signal);
    else twin.child.kill(signal);
    await until(() => gone(twin.pid), `node twin/serve.mjs (pid ${twin.pid}) to stop after ${signal} to npm`);
    t.false(existsSync(twin.dir), 'its folder (keys included) is gone');
    t.false(existsSync(lock), 'its addresses are free again');
  });
}

test.serial('the PATH line is the twin\'s bin folder before the shell\'s own $PATH, without npm\'s folders', async (t) => {
  const twin = await npmTwin(t);
  const bin = TWIN_BIN.replace(/\/$/, '');
  const tools = TOOLS_BIN.replace(/\/$/, '');
  t.true([`export PATH="${bin}:$PATH"`, `export PATH="${bin}:${tools}:$PATH"`].includes(twin.pathLine), twin.pathLine);
  t.notRegex(twin.text, /node_modules|node-gyp-bin/);
  t.regex(twin.text, /CILIUM=\/path\/to\/cilium npm run demo/, 'says how to rehearse with another cilium');
  twin.child.kill('SIGTERM');
  await until(() => gone(twin.pid), 'the twin to stop');
});

test.serial('CILIUM pointing at nothing usable stops npm run twin and npm run demo before anything starts', async (t) => {
  for (const script of ['twin', 'demo']) {
    const run = npmRun(script, { env: { CILIUM: '/nonexistent/cilium' } });
    const { code } = await run.exited;
    t.is(code, 2, run.output());
    t.regex(run.output(), /CILIUM=\/nonexistent\/cilium: no such file/);
    t.notRegex(run.output(), /Cluster twin/);
  }
});
