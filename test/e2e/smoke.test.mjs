// @ts-check
import test from 'ava';
import { e2eTwin, endState } from '../support/e2e.mjs';

test.serial('npm run all on a fresh twin reaches the article end state, and a second run changes nothing', async (t) => {
  const h = await e2eTwin(t);
  const first = await h.run('all.mjs');
  t.is(first.code, 0, first.output);
  const state = endState(h);
  t.true(state.mesh);
  t.is(state.a.echoService?.ip, `${h.net}.254.230`);
  h.resetStats();
  const second = await h.run('all.mjs');
  t.is(second.code, 0, second.output);
  t.is(h.stats().writes, 0);
  t.deepEqual(endState(h), state);
});
