// @ts-check
// The diagnostics bundle of a failed step, on the twin: each known failure is
// provoked for real (the state a lab gets into, made in the twin's stores), the
// step fails, and the bundle must hold both clusters' cilium and clustermesh
// status, the objects and events, and the failing command; no key of any
// Secret in either cluster may be in any of its files (the plant check: the CA
// keys are in the stores, the bundle must not have them); folder 0700, files
// 0600; and the runbook prints the folder and the hint for the failure.
// Not for dry runs, input errors, or with RUNBOOK_DIAGNOSTICS=off.
//
// The harness points RUNBOOK_DIAGNOSTICS_DIR into the twin's folder. Short
// timeouts keep the waits that must fail short; the tests run one at a time.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { e2eTwin } from '../support/e2e.mjs';
import { slots } from '../support/end-state.mjs';
import { scaledSeconds, waitFor } from '../support/time.mjs';
import { STEPS } from '../../scripts/steps.mjs';
import { generateCA } from '../../twin/cilium/pki.mjs';

/** @typedef {import('../support/e2e.mjs').E2E} E2E */
/** @typedef {import('../support/e2e.mjs').RunResult} RunResult */
/** @typedef {import('ava').ExecutionContext} T */

const slot = slots(1); // with serial tests: one twin at a time
const POOLS = 'cilium.io/ciliumloadbalancerippools';
const CRDS = 'apiextensions.k8s.io/customresourcedefinitions';

/** @param {string} id */
const script = (id) => `${STEPS.find((s) => s.id === id)?.name}.mjs`;

/** Runs steps one by one, each as its own script. @param {T} t @param {E2E} h @param {string[]} ids */
async function steps(t, h, ids) {
  for (const id of ids) {
    const r = await h.run(script(id));
    if (r.code !== 0) throw new Error(`step ${id} (building the state) exited ${r.code}:\n${r.output}`);
  }
}

/** @param {E2E} h */
const bundleBase = (h) => /** @type {string} */ (h.env.RUNBOOK_DIAGNOSTICS_DIR);

/** @param {E2E} h */
const bundles = (h) => (fs.existsSync(bundleBase(h)) ? fs.readdirSync(bundleBase(h)).sort() : []);

/** @param {() => boolean} cond @param {string} what */
const until = (cond, what, ms = 15_000) => waitFor(cond, what, ms, 50);

/**
 * Every private key held in a Secret of either cluster, as stored (base64) and
 * as PEM, and the longest line of each PEM's body.
 * @param {E2E} h
 */
function plantedKeys(h) {
  /** @type {string[]} */
  const out = [];
  for (const k of /** @type {const} */ (['a', 'b'])) {
    for (const s of h.store(k).list('/secrets')) {
      for (const [name, value] of Object.entries(s.data ?? {})) {
        const pem = Buffer.from(String(value), 'base64').toString('utf8');
        if (!/\.key$|^key$/.test(name) && !/PRIVATE KEY/.test(pem)) continue;
        out.push(String(value), pem.trim());
        const body = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
        if (body.length) out.push(body.reduce((x, y) => (y.length > x.length ? y : x)));
      }
    }
  }
  return out;
}

/**
 * The one bundle of this twin, checked: what it must hold, its modes, no key
 * of any Secret, and the printed folder and hint.
 * @param {T} t @param {E2E} h @param {RunResult} run
 * @param {{ id: string, hint: RegExp, again: string }} want
 */
function checkBundle(t, h, run, want) {
  t.is(run.code, 1, run.output);
  const names = bundles(h);
  t.is(names.length, 1, `one bundle: ${names.join(', ')}`);
  const dir = path.join(bundleBase(h), names[0]);
  t.regex(names[0], /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/, 'named by its UTC time, without colons');
  t.is(fs.statSync(dir).mode & 0o777, 0o700);
  const files = fs.readdirSync(dir).sort();
  /** @type {Record<string, string>} */
  const text = Object.fromEntries(files.map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
  for (const f of files) t.is(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, f);

  for (const f of ['summary.txt', 'failure.txt']) t.true(files.includes(f), f);
  for (const k of ['a', 'b']) {
    for (const stem of ['cilium-status', 'clustermesh-status']) {
      t.true(files.includes(`${k}-${stem}.json`) || files.includes(`${k}-${stem}.error.txt`), `${k}-${stem}`);
    }
    t.true(files.includes(`${k}-services.yaml`));
    for (const f of ['pools', 'l2-policies', 'crds', 'servicelb', 'nodes', 'events-kube-system', 'events-echo']) {
      t.true(files.includes(`${k}-${f}.yaml`) || files.includes(`${k}-${f}.error.txt`), `${k}-${f} in ${files.join(' ')}`);
    }
  }
  t.regex(text['failure.txt'], /^step: \d\d /);

  // Secrets: never fetched, and no key of any Secret of either cluster anywhere.
  const keys = plantedKeys(h);
  t.true(keys.length >= 4, 'the stores hold the CA keys to look for');
  for (const [f, s] of Object.entries(text)) {
    t.notRegex(s, /^kind: Secret$/m, `${f} holds no Secret`);
    t.notRegex(s, /PRIVATE KEY/, `${f} holds no private key`);
    for (const key of keys) if (s.includes(key)) t.fail(`${f} holds a Secret's key (${key.slice(0, 20)}…)`);
  }

  // Printed: the folder, then the hint (from the step or the bundle), then how to go on.
  const shown = run.stderr.indexOf(`diagnostics saved in ${dir} (start with summary.txt)`);
  t.true(shown > 0, run.stderr);
  t.regex(run.stderr, want.hint);
  t.true(run.stderr.indexOf(`fix the cause and run \`${want.again}\` again`) > shown);
  t.regex(text['summary.txt'], new RegExp(`^ {2}\\[${want.id}\\] `, 'm'), text['summary.txt']);
  // One finding; its hint has a line per cluster it saw the cause on.
  const ids = new Set([...text['summary.txt'].matchAll(/^ {2}\[([a-z-]+)\] /gm)].map((m) => m[1]));
  t.deepEqual([...ids], [want.id], 'one known failure recognised');
  return { dir, text };
}

test.serial('same LB IP on both clustermesh-apiservers (A\'s mesh pool changed to B\'s IP after 06): 07 fails, the bundle names the IP and the pool', (t) => slot(async () => {
  const h = await e2eTwin(t, { overrides: { TIMEOUT_MESH: scaledSeconds(5) } });
  await steps(t, h, ['01', '02', '03', '04', '05', '06']);
  const ipB = h.vars.CLUSTER_B_MESH_IP;
  const pool = /** @type {any} */ (h.store('a').get(POOLS, '', 'cluster-pool'));
  pool.spec.blocks = [{ start: ipB, stop: ipB }];
  h.store('a').update(POOLS, pool);
  await until(() => h.store('a').get('/services', 'kube-system', 'clustermesh-apiserver')?.status?.loadBalancer?.ingress?.[0]?.ip === ipB,
    "A's clustermesh-apiserver to move to B's IP");

  const run = await h.run(script('07'));
  const esc = ipB.replace(/\./g, '\\.');
  const { text } = checkBundle(t, h, run, {
    id: 'same-lb-ip', again: 'npm run 07',
    hint: new RegExp(`known failure: both clustermesh-apiservers are reached at ${esc}: .*cluster-a's clustermesh-apiserver has ${esc}, ` +
      `not its CLUSTER_A_MESH_IP ${h.vars.CLUSTER_A_MESH_IP.replace(/\./g, '\\.')} \\(pool cluster-pool holds ${esc}\\)`),
  });
  t.regex(text['a-pools.yaml'], new RegExp(`start: ${esc}`));
  t.regex(text['a-services.yaml'], new RegExp(`ip: ${esc}`));
  t.regex(text['failure.txt'], /^command: cilium clustermesh status --context cluster-[ab] --wait/m);
}));

test.serial('CA mismatch (B\'s cilium-ca replaced by another CA before 07): 07 fails with the CA hint, no CA key in the bundle', (t) => slot(async () => {
  const h = await e2eTwin(t);
  await steps(t, h, ['01', '02', '03', '04', '05', '06']);
  const other = await generateCA('Cilium CA', 1095);
  const ca = /** @type {any} */ (h.store('b').get('/secrets', 'kube-system', 'cilium-ca'));
  ca.data = { 'ca.crt': Buffer.from(other.cert).toString('base64'), 'ca.key': Buffer.from(other.key).toString('base64') };
  h.store('b').update('/secrets', ca);

  const run = await h.run(script('07'));
  const { text } = checkBundle(t, h, run, {
    id: 'ca-mismatch', again: 'npm run 07',
    hint: /the clusters have different Cilium CAs\. Cilium on cluster-b was installed without cluster-a's CA/,
  });
  t.regex(text['failure.txt'], /^command: cilium clustermesh connect --context cluster-a --destination-context cluster-b$/m);
  t.regex(text['failure.txt'], /Cilium CA certificates do not match between clusters cluster-a and cluster-b/);
  t.true(plantedKeys(h).includes(ca.data['ca.key']), 'the replaced CA key is among the planted ones');
}));

test.serial('K3s ServiceLB grabs the clustermesh-apiserver: npm run all fails at 06 with the ServiceLB hint; a dry run after it saves no bundle', (t) => slot(async () => {
  const h = await e2eTwin(t, { twin: { servicelb: true }, overrides: { TIMEOUT_RESOURCES: scaledSeconds(3) } });
  const run = await h.run('all.mjs');
  t.regex(run.stdout, /^✘ 06 /m);
  const { text } = checkBundle(t, h, run, {
    id: 'servicelb', again: 'npm run all',
    hint: /known failure: K3s's ServiceLB took LoadBalancer Services on cluster-a: kube-system\/clustermesh-apiserver got [\d.]+ \(node k3s-a-server\).* and is served by DaemonSet svclb-clustermesh-apiserver-[0-9a-f]+\. Start the K3s servers with --disable=servicelb/,
  });
  // Step 06 enables both clusters side by side: ServiceLB took B's apiserver too, and the summary says so.
  t.regex(text['summary.txt'], /^ {2}\[servicelb\] K3s's ServiceLB took LoadBalancer Services on cluster-b: kube-system\/clustermesh-apiserver/m);
  t.regex(text['a-servicelb.yaml'], /kind: DaemonSet/);
  t.regex(text['a-nodes.yaml'], /address: /);

  const dry = await h.run(script('06'), ['--dry-run']);
  t.is(dry.code, 1, dry.output);
  t.notRegex(dry.stderr, /diagnostics saved/);
  t.is(bundles(h).length, 1, 'no bundle for a dry run');
}));

test.serial('a pool that no longer matches (A\'s app pool selects nothing before 08): 08 fails with LB-IPAM\'s no_pool and the pool', (t) => slot(async () => {
  const h = await e2eTwin(t, { overrides: { TIMEOUT_RESOURCES: scaledSeconds(3) } });
  await steps(t, h, ['01', '02', '03', '04', '05']);
  const pool = /** @type {any} */ (h.store('a').get(POOLS, '', 'app-pool'));
  pool.spec.serviceSelector = { matchLabels: { 'lb-pool': 'nothing' } };
  h.store('a').update(POOLS, pool);

  const run = await h.run(script('08'));
  const { text } = checkBundle(t, h, run, {
    id: 'pool', again: 'npm run 08',
    hint: /known failure: echo\/echo on cluster-a has no LoadBalancer IP: LB-IPAM says no_pool: "There are no enabled CiliumLoadBalancerIPPools that match this service"\. Pool app-pool on cluster-a holds [\d.]+–[\d.]+ and selects \{"matchLabels":\{"lb-pool":"nothing"\}\}/,
  });
  t.regex(text['a-services.yaml'], /reason: no_pool/);
  t.regex(text['failure.txt'], /^command: kubectl --context cluster-a wait -n echo/m);
}));

test.serial('CRDs not ready (deleted after 03, the operator does not register them again): 04 fails with the CRD hint; no bundle for bad input or when turned off', (t) => slot(async () => {
  const h = await e2eTwin(t, { overrides: { TIMEOUT_RESOURCES: scaledSeconds(3) } });
  await steps(t, h, ['01', '02', '03']);
  for (const name of ['ciliumloadbalancerippools.cilium.io', 'ciliuml2announcementpolicies.cilium.io']) h.store('a').delete(CRDS, '', name);

  const run = await h.run(script('04'));
  const { text } = checkBundle(t, h, run, {
    id: 'crds', again: 'npm run 04',
    hint: /known failure: Cilium's LoadBalancer CRDs are not ready on cluster-a: ciliumloadbalancerippools\.cilium\.io is missing; ciliuml2announcementpolicies\.cilium\.io is missing\. cilium-operator registers them when it starts \(cilium-operator: 1\/1 ready\)/,
  });
  t.regex(text['a-crds.yaml'], /items: \[\]/);
  t.regex(text['a-pools.error.txt'], /doesn't have a resource type "ciliumloadbalancerippools"|could not find the requested resource/);
  t.regex(text['b-crds.yaml'], /name: ciliumloadbalancerippools\.cilium\.io/);

  const off = await h.run(script('04'), [], { env: { RUNBOOK_DIAGNOSTICS: 'off' } });
  t.is(off.code, 1, off.output);
  t.notRegex(off.stderr, /diagnostics/);
  const bad = await h.run(script('04'), [], { env: { RUNBOOK_ENV: path.join(h.twin.dir, 'nowhere.env') } });
  t.is(bad.code, 2, bad.output);
  t.is(bundles(h).length, 1, 'no bundle when turned off or for bad input');
}));
