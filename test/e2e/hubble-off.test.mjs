// @ts-check
// HUBBLE_ENABLED=false on the twin: the chart makes cilium-ca only for Hubble's
// or the clustermesh-apiserver's certificates, so step 01 leaves cluster A
// without a CA and step 02 has none to share. The run stops at step 02 saying
// why and what to set, before anything is installed on B.
import test from 'ava';
import { e2eTwin } from '../support/e2e.mjs';

test('with Hubble off, step 02 stops: A has no cilium-ca, and the message says to set HUBBLE_ENABLED=true', async (t) => {
  const h = await e2eTwin(t, { overrides: { HUBBLE_ENABLED: 'false', HUBBLE_RELAY_ENABLED: 'false', HUBBLE_UI_ENABLED: 'false' } });
  const run = await h.run('all.mjs');
  t.is(run.code, 1, run.output);
  t.regex(run.output, /^1 of 2 steps passed in /m, run.output);
  t.falsy(h.store('a').get('/secrets', 'kube-system', 'cilium-ca'), "step 01 with Hubble off made a cilium-ca on A: the chart's rule changed?");
  t.regex(run.stderr, new RegExp(`${h.vars.CLUSTER_A_CONTEXT} has no Secret kube-system/cilium-ca: with HUBBLE_ENABLED=false installing Cilium makes none`), run.stderr);
  t.regex(run.stderr, /Set HUBBLE_ENABLED=true \(HUBBLE_RELAY_ENABLED and HUBBLE_UI_ENABLED can stay false\)/, run.stderr);
  const b = h.store('b').list('/secrets', 'kube-system').filter((s) => s.metadata.labels?.owner === 'helm');
  t.deepEqual(b.map((s) => s.metadata.name), [], 'nothing was installed on B');
});
