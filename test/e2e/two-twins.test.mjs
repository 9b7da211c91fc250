// @ts-check
// Two twins at once (issue 8, done-when): with `npm run twin` up, `npm run demo`
// started twice at the same moment in one checkout ends 0 in both — every twin
// serves addresses of its own, and the runbook's lock and files are per pair of
// clusters. One of the demos rehearses with CILIUM=<another binary> (issue 9
// part 5): a wrapper that records its calls and runs the stand-in.
import test from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TWIN_BIN } from '../../twin/runbook-env.mjs';
import { kubectl } from '../support/kubectl.mjs';
import { SCALE, gone, npmRun, npmTwin, until } from '../support/npm-twin.mjs';

test('npm run demo twice at the same moment, beside npm run twin: both end 0 on addresses of their own', async (t) => {
  t.timeout(15 * 60_000 * SCALE, 'two full rehearsals on a shared machine');
  const dir = await mkdtemp(join(tmpdir(), 'two-twins-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const log = join(dir, 'cilium-calls.log');
  const wrapper = join(dir, 'my-cilium');
  await writeFile(wrapper, `#!/bin/sh\necho "$*" >> '${log}'\nexec '${join(TWIN_BIN, 'cilium')}' "$@"\n`, { mode: 0o755 });

  const workshop = await npmTwin(t);
  // The drills' records go into the test's folder, not the work tree's .runbook/failover.
  const records = { RUNBOOK_FAILOVER_DIR: join(dir, 'failover') };
  const demos = [npmRun('demo', { env: records }), npmRun('demo', { env: { ...records, CILIUM: wrapper } })];
  t.teardown(() => { for (const d of demos) d.child.kill('SIGKILL'); });
  const ends = await Promise.all(demos.map((d) => d.exited));
  const outs = demos.map((d) => d.output());
  ends.forEach((e, i) => t.is(e.code, 0, `demo ${i + 1} ended ${e.code ?? e.signal}:\n${outs[i]}`));
  for (const o of outs) t.regex(o, /9 of 9 steps passed/);
  t.notRegex(outs.join('\n'), /EADDRINUSE|cannot (listen|serve)|The twin stops:/);

  const nets = [workshop.net, ...outs.map((o) => / on (127\.\d+)\.x\.y/.exec(o)?.[1])];
  t.is(new Set(nets).size, 3, `three twins, three nets: ${nets.join(', ')}`);
  t.regex(outs[1], new RegExp(`cilium: ${wrapper.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(CILIUM\\)`));
  const calls = await readFile(log, 'utf8');
  for (const cmd of ['install', 'clustermesh enable', 'clustermesh connect']) t.regex(calls, new RegExp(`^${cmd} `, 'm'), `the demo ran \`cilium ${cmd}\` with CILIUM`);

  // The workshop twin kept serving throughout, and stops cleanly.
  const nodes = await kubectl(['get', 'nodes', '-o', 'name'], { kubeconfig: workshop.kubeconfig, cacheDir: join(dir, 'kube-cache'), context: 'cluster-a' });
  t.is(nodes.code, 0, nodes.stderr);
  workshop.child.kill('SIGTERM');
  await until(() => gone(workshop.pid), 'npm run twin to stop');
});
