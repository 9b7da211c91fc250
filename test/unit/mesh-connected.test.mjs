// @ts-check
// When does step 07 (and `npm run status`) count the mesh connected? As
// `cilium clustermesh status` does: for the peer, configured == connected ==
// total and not_ready == 0, on both sides (and for KVStoreMesh's replicas when
// it reports them). `configured` counts only the agents that report the peer at
// all, so on a multi-node cluster "connected == configured" can hold while a
// node is not connected. The documents are shaped as the real CLI prints them
// (omitempty counts); a `cilium` on PATH prints them per --context. The twin's
// stand-in cannot put single agents out of the mesh yet.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { Runtime } from '../../scripts/lib/runtime.mjs';
import { meshConnection, peerConnection } from '../../scripts/lib/mesh.mjs';
import { makeConfig, tempDir } from '../support/config-fixture.mjs';

const config = makeConfig();
const { a, b } = config;

/**
 * A runtime whose `cilium clustermesh status -o json` prints docs[context].
 * @param {Record<string, any>} docs
 */
function runtimeWith(docs) {
  const bin = tempDir('runbook-mesh-');
  for (const [ctx, doc] of Object.entries(docs)) fs.writeFileSync(path.join(bin, `${ctx}.json`), JSON.stringify(doc));
  fs.writeFileSync(path.join(bin, 'cilium'), `#!${process.execPath}\nconst a = process.argv.slice(2);\n` +
    `process.stdout.write(require('node:fs').readFileSync(require('node:path').join(${JSON.stringify(bin)}, a[a.indexOf('--context') + 1] + '.json'), 'utf8'));\n`,
  { mode: 0o755 });
  const rt = new Runtime({ config, mode: 'run' });
  rt.env.PATH = `${bin}${path.delimiter}${rt.env.PATH}`;
  return rt;
}

/** @param {string} name @param {string} ip */
const access = (name, ip) => ({ service_type: 'LoadBalancer', service_ips: [ip], service_port: 2379, cluster_name: name });

/** One side's status, connected to `peer` on `connected` of `total` agents; `reporting` agents have it configured. */
function side(/** @type {typeof a} */ c, /** @type {string} */ peer, /** @type {number} */ total, /** @type {number} */ reporting, /** @type {number} */ connected) {
  const notReady = total - connected;
  return {
    access_information: access(c.name, c.meshIp),
    connectivity: {
      connected: { min: notReady ? 0 : 1, avg: connected / total, max: 1 },
      clusters: { [peer]: { configured: reporting, connected } },
      total,
      ...(notReady ? { not_ready: notReady } : {}),
    },
    kvstoremesh: { enabled: false },
  };
}

test('07\'s check: one of A\'s three nodes without B (configured 2, connected 2, total 3, not_ready 1) is not done', async (t) => {
  const rt = runtimeWith({ [a.context]: side(a, b.name, 3, 2, 2), [b.context]: side(b, a.name, 3, 3, 3) });
  const check = await meshConnection(rt, config);
  t.is(check.state, 'verify', JSON.stringify(check));
  t.is(check.state === 'verify' && check.detail,
    `configured; waiting for the connection (${a.context} to ${b.name}: agents 2/3 configured, 2/3 connected, 1 not ready; ` +
    `${b.context} to ${a.name}: agents 3/3 configured, 3/3 connected)`);
});

test('07\'s check: every node of both sides connected is done', async (t) => {
  const rt = runtimeWith({ [a.context]: side(a, b.name, 3, 3, 3), [b.context]: side(b, a.name, 2, 2, 2) });
  t.deepEqual(await meshConnection(rt, config), { state: 'done', detail: `${a.name} ⇄ ${b.name} connected` });
});

test('peerConnection: not_ready elsewhere, a missing total, and KVStoreMesh replicas not connected all count as not connected', (t) => {
  const full = side(a, b.name, 2, 2, 2);
  t.true(peerConnection(full, b.name).connected);
  t.false(peerConnection({ ...full, connectivity: { ...full.connectivity, not_ready: 1 } }, b.name).connected);
  t.false(peerConnection({ ...full, connectivity: { clusters: { [b.name]: { configured: 1, connected: 1 } } } }, b.name).connected, 'no total');
  t.false(peerConnection(full, 'other').connected, 'another peer');
  const kv = { ...full, kvstoremesh: { enabled: true, status: { clusters: { [b.name]: { configured: 1 } }, total: 1, not_ready: 1 } } };
  t.deepEqual(peerConnection(kv, b.name),
    { connected: false, detail: `${b.name}: agents 2/2 configured, 2/2 connected; KVStoreMesh 1/1 configured, 0/1 connected, 1 not ready` });
});
