// @ts-check
// What a twin owns on this machine (issue 8, "Two twins at once"): its own
// 127.N claimed under a lock, an address it must serve that another process
// holds stops it and names the holder, its folder goes on stop and those of
// dead twins are swept; its clusters are the README's K3s (service and pod
// CIDRs, k3s.io/node-args); CILIUM is checked before anything starts.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimNet, NETS_DIR, servedAddresses, sweepStaleTwinDirs } from '../../twin/hosting.mjs';
import { holderOf } from '../../twin/port-holder.mjs';
import { startDataplane } from '../../twin/dataplane/index.mjs';
import { startControllers } from '../../twin/controllers/index.mjs';
import { bootMesh, fakeTwin, httpGet, waitFor } from '../../twin/controllers/testkit.mjs';
import { ipToInt, parseCidr } from '../../twin/kinds/service-alloc.mjs';
import { twinEnv, checkCilium, pathExport, TWIN_BIN } from '../../twin/runbook-env.mjs';
import { twinForTest } from '../support/twin-harness.mjs';

// Deadlines scale with the suite's time factor (TEST_TIME_FACTOR, resolved by ava.config.mjs).
const SCALE = Number(process.env.TEST_TIME_FACTOR ?? 1) || 1;

/** Listens on ip:port until the test ends. @param {import('ava').ExecutionContext} t @param {string} ip @param {number} port */
async function hold(t, ip, port) {
  const s = net.createServer();
  await new Promise((resolve, reject) => { s.once('error', reject); s.listen({ host: ip, port, exclusive: true }, () => resolve(undefined)); });
  t.teardown(() => new Promise((r) => s.close(() => r(undefined))));
}

// Nets 127.250–254: outside the twins' range (1–27), the e2e harness's (30–249) and the fixed ones of other tests.

/** A pid that is certainly gone: a child that has exited. */
const deadPid = () => /** @type {number} */ (spawnSync(process.execPath, ['-e', '0']).pid);

/** @param {string} cidr @param {string} inner a.b.c.d/n inside it? */
function inside(cidr, inner) {
  const o = parseCidr(cidr);
  const i = parseCidr(inner);
  return i.base >= o.base && i.base + i.size <= o.base + o.size;
}

test('two claims get different nets; a claim whose process is gone is taken over; release frees it', async (t) => {
  const range = /** @type {const} */ ([250, 251]);
  for (const n of range) await rm(join(NETS_DIR, String(n)), { force: true });
  mkdirSync(NETS_DIR, { recursive: true });
  writeFileSync(join(NETS_DIR, '250'), JSON.stringify({ pid: deadPid(), since: 'then' }));
  const first = await claimNet({ nodeCount: 1, range });
  const second = await claimNet({ nodeCount: 1, range });
  t.teardown(() => { first.release(); second.release(); });
  t.deepEqual([first.net, second.net], ['127.250', '127.251']);
  await t.throwsAsync(claimNet({ nodeCount: 1, range }), { message: /127\.250: claimed by another twin[\s\S]*127\.251: claimed by another twin/ });
  first.release();
  const again = await claimNet({ nodeCount: 1, range });
  t.teardown(() => again.release());
  t.is(again.net, '127.250');
});

test('a net where another process listens on an address the twin would serve is skipped, naming the address and the process', async (t) => {
  const range = /** @type {const} */ ([252, 252]);
  await rm(join(NETS_DIR, '252'), { force: true });
  t.true(servedAddresses('127.252', 1).some((a) => a.ip === '127.252.254.220' && a.port === 2379));
  await hold(t, '127.252.254.220', 2379);
  const err = await t.throwsAsync(claimNet({ nodeCount: 1, range }));
  t.regex(err?.message ?? '', new RegExp(`127\\.252\\.254\\.220:2379 is in use by pid ${process.pid} \\(`));
  t.false(existsSync(join(NETS_DIR, '252')), 'the claim is given back');
});

test('EADDRINUSE on an address the data plane must serve stops it and names the holder; nothing else stays served', async (t) => {
  const base = '127.253';
  await hold(t, `${base}.10.1`, 2379); // cluster a's clustermesh-apiserver IP in bootMesh
  const twin = fakeTwin({ nodeIpBase: { a: `${base}.1.1`, b: `${base}.2.1` } });
  const ctl = startControllers(twin);
  /** @type {Error[]} */
  const fatal = [];
  const dp = await startDataplane(twin, { onFatal: (e) => fatal.push(e) });
  t.teardown(async () => { await dp.stop(); ctl.stop(); });
  await bootMesh(twin, base, { connect: false });
  const err = await waitFor(() => fatal[0], 'the data plane to report the taken address', 10_000 * SCALE);
  t.regex(err.message, new RegExp(`${base.replace('.', '\\.')}\\.10\\.1:2379 .*in use by pid ${process.pid} \\(`));
  t.is(fatal.length, 1);
  await dp.settle();
  t.deepEqual(dp.listeners(), []);
  await t.throwsAsync(httpGet(`http://${base}.10.2:2379/twin/clustermesh`), { message: /ECONNREFUSED/ }, 'cluster b is not served either');
});

test('the clusters are the README\'s K3s: own service CIDRs, node pod CIDRs inside the cluster CIDR, k3s.io/node-args with the flags', async (t) => {
  const h = await twinForTest(t, { nodeCount: 2 });
  const want = { a: { pod: '10.42.0.0/16', svc: '10.96.0.0/12' }, b: { pod: '10.43.0.0/16', svc: '10.112.0.0/12' } };
  for (const k of /** @type {const} */ (['a', 'b'])) {
    const store = h.twin.clusters[k].store;
    t.is(store.get('/services', 'default', 'kubernetes')?.spec.clusterIP, `${want[k].svc.split('.').slice(0, 2).join('.')}.0.1`);
    t.is(store.get('/services', 'kube-system', 'kube-dns')?.spec.clusterIP, `${want[k].svc.split('.').slice(0, 2).join('.')}.0.10`);
    const nodes = store.list('/nodes');
    t.is(new Set(nodes.map((n) => n.spec.podCIDR)).size, nodes.length);
    for (const n of nodes) {
      t.true(inside(want[k].pod, n.spec.podCIDR), `${n.metadata.name} ${n.spec.podCIDR} in ${want[k].pod}`);
      t.deepEqual(n.spec.podCIDRs, [n.spec.podCIDR]);
      t.regex(n.metadata.annotations?.['k3s.io/node-config-hash'] ?? '', /^[A-Z2-7]{52}====$/);
    }
    const args = (/** @type {string} */ node) => JSON.parse(store.get('/nodes', '', node)?.metadata.annotations?.['k3s.io/node-args'] ?? 'null');
    t.deepEqual(args(`k3s-${k}-server`), ['server', '--flannel-backend', 'none',
      '--disable-network-policy', '--disable-kube-proxy', '--disable', 'servicelb', '--cluster-cidr', want[k].pod, '--service-cidr', want[k].svc]);
    t.deepEqual(args(`k3s-${k}-agent-1`), ['agent']);
    const ctx = h.twin.clusters[k].context;
    const web = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } };
    const made = await h.kubectl(['create', '-f', '-', '-o', 'jsonpath={.spec.clusterIP}'], { context: ctx, input: JSON.stringify(web) });
    t.is(made.code, 0, made.stderr);
    const ip = ipToInt(made.stdout);
    const svc = parseCidr(want[k].svc);
    t.true(ip > svc.base && ip < svc.base + svc.size - 1, `${made.stdout} in ${want[k].svc}`);
  }
  const env = twinEnv(h.twin);
  t.like(env, { CLUSTER_A_POD_CIDR: '10.42.0.0/16', CLUSTER_A_SERVICE_CIDR: '10.96.0.0/12', CLUSTER_B_POD_CIDR: '10.43.0.0/16', CLUSTER_B_SERVICE_CIDR: '10.112.0.0/12' });
});

test('a twin\'s folder names its pid and goes on stop; folders of twins whose process is gone are swept', async (t) => {
  const stale = join(tmpdir(), `cluster-twin-${deadPid()}-stale1`);
  mkdirSync(join(stale, 'a'), { recursive: true });
  writeFileSync(join(stale, 'kubeconfig.yaml'), 'client-key-data: x\n');
  const live = join(tmpdir(), `cluster-twin-${process.pid}-mine1`);
  mkdirSync(live, { recursive: true });
  t.teardown(() => rm(live, { recursive: true, force: true }));
  const h = await twinForTest(t, { nodeCount: 1 });
  t.false(existsSync(stale), 'the dead twin\'s folder is swept when a twin starts');
  t.true(existsSync(live), 'a live process\'s folder stays');
  t.regex(h.twin.dir, new RegExp(`/cluster-twin-${process.pid}-[^/]+$`));
  await h.stop();
  t.false(existsSync(h.twin.dir));
  sweepStaleTwinDirs();
  t.true(existsSync(live));
});

test('CILIUM is checked before anything starts: missing, a folder, not executable', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'twin-cilium-check-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  t.is(checkCilium(undefined), undefined);
  t.is(checkCilium(''), undefined);
  t.throws(() => checkCilium(join(dir, 'nope')), { message: /CILIUM=.*nope: no such file\. Give the path of a cilium binary/ });
  t.throws(() => checkCilium(dir), { message: /is a folder: give the cilium binary itself/ });
  const plain = join(dir, 'cilium');
  writeFileSync(plain, '#!/bin/sh\n');
  chmodSync(plain, 0o644);
  t.throws(() => checkCilium(plain), { message: /is not executable: chmod \+x/ });
  chmodSync(plain, 0o755);
  t.is(checkCilium(plain), plain);
});

test('the PATH line puts the twin\'s folders before the shell\'s own $PATH, quoted', (t) => {
  t.is(pathExport([TWIN_BIN]), `export PATH="${TWIN_BIN.replace(/\/$/, '')}:$PATH"`);
  t.is(pathExport(['/a b/$x/']), 'export PATH="/a b/\\$x:$PATH"');
});

test('the holder of an address is named, also when it listens on every address', async (t) => {
  const s = net.createServer();
  await new Promise((resolve) => s.listen({ host: '0.0.0.0', port: 0 }, () => resolve(undefined)));
  t.teardown(() => new Promise((r) => s.close(() => r(undefined))));
  const port = /** @type {import('node:net').AddressInfo} */ (s.address()).port;
  t.regex(holderOf('127.254.0.1', port), new RegExp(`^pid ${process.pid} \\(.*\\), listening on 0\\.0\\.0\\.0:${port}$`));
});
