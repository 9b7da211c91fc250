// @ts-check
// HUBBLE_ENABLED=false: the chart makes cilium-ca only for Hubble's or the
// clustermesh-apiserver's certificates, so step 01 would leave cluster A
// without the CA step 02 shares (found on the real backend). The config is
// refused before any cluster is touched; a cluster A without the CA (Cilium
// installed some other way) still stops step 02 saying why.
import test from 'ava';
import { e2eTwin } from '../support/e2e.mjs';

test('HUBBLE_ENABLED=false is refused before any cluster is touched (exit 2), naming what needs Hubble', async (t) => {
  const h = await e2eTwin(t, { overrides: { HUBBLE_ENABLED: 'false', HUBBLE_RELAY_ENABLED: 'false', HUBBLE_UI_ENABLED: 'false' } });
  h.resetStats();
  const run = await h.run('all.mjs');
  t.is(run.code, 2, run.output);
  t.regex(run.stderr, /^HUBBLE_ENABLED: is false, but step 02 shares cluster A's Cilium CA \(Secret kube-system\/cilium-ca\)/m, run.stderr);
  t.is(h.stats().writes, 0, 'nothing was written to either cluster');
});

test('a cluster A without cilium-ca stops step 02 with the cause and what to set', async (t) => {
  const h = await e2eTwin(t);
  const one = await h.run('01-install-a.mjs');
  t.is(one.code, 0, one.output);
  h.store('a').delete('/secrets', 'kube-system', 'cilium-ca');
  const run = await h.run('02-share-ca.mjs');
  t.is(run.code, 1, run.output);
  t.regex(run.stderr, new RegExp(`${h.vars.CLUSTER_A_CONTEXT} has no Secret kube-system/cilium-ca`), run.stderr);
  const b = h.store('b').list('/secrets', 'kube-system').filter((s) => s.metadata.name === 'cilium-ca');
  t.deepEqual(b, [], 'nothing was copied to B');
});
