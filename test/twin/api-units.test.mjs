// @ts-check
// The API server's building blocks without kubectl: the patch types and their
// directives, selectors, printing helpers, Service allocation, and the zip
// reader of tools/ensure-kubectl.mjs.
import test from 'ava';
import { deflateRawSync } from 'node:zlib';
import { strategicMerge, mergePatch, jsonPatch, applyMerge } from '../../twin/server/patch.mjs';
import { patchMetaFor, patchMetaFromSchema } from '../../twin/kinds/patch-meta.mjs';
import { parseLabelSelector, parseFieldSelector } from '../../twin/server/selectors.mjs';
import { humanDuration, jsonPathValues } from '../../twin/kinds/printers.mjs';
import { allocateService } from '../../twin/kinds/service-alloc.mjs';
import { invalid } from '../../twin/kinds/errors.mjs';
import { readZipEntry } from '../../tools/ensure-kubectl.mjs';

const deployMeta = /** @type {(p: string) => any} */ (patchMetaFor('apps', 'Deployment'));

const deployment = () => ({
  metadata: { name: 'echo', finalizers: ['a'], labels: { app: 'echo', tier: 'web' } },
  spec: {
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    template: {
      spec: {
        containers: [
          { name: 'echo', image: 'v1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], ports: [{ containerPort: 80, protocol: 'TCP' }], args: ['x', 'y'] },
          { name: 'side', image: 's1' },
        ],
        volumes: [{ name: 'v', emptyDir: {} }],
      },
    },
  },
  status: { conditions: [{ type: 'Available', status: 'False' }, { type: 'Progressing', status: 'True' }] },
});

test('strategic merge: lists merge by their patch merge key, null deletes, other lists are replaced', (t) => {
  const out = strategicMerge(deployment(), {
    metadata: { labels: { tier: null, new: 'x' }, finalizers: ['b'] },
    spec: { template: { spec: { containers: [{ name: 'echo', image: 'v2', env: [{ name: 'C', value: '3' }], args: ['z'] }] } } },
    status: { conditions: [{ type: 'Available', status: 'True' }] },
  }, deployMeta);
  t.deepEqual(out.metadata.labels, { app: 'echo', new: 'x' });
  t.deepEqual(out.metadata.finalizers, ['a', 'b']);
  const [echo, side] = out.spec.template.spec.containers;
  t.is(echo.image, 'v2');
  t.deepEqual(echo.env, [{ name: 'A', value: '1' }, { name: 'B', value: '2' }, { name: 'C', value: '3' }]);
  t.deepEqual(echo.args, ['z']);
  t.deepEqual(side, { name: 'side', image: 's1' });
  t.deepEqual(out.status.conditions, [{ type: 'Available', status: 'True' }, { type: 'Progressing', status: 'True' }]);
});

test('strategic merge directives: $patch replace/delete, $retainKeys, $deleteFromPrimitiveList, $setElementOrder', (t) => {
  const out = strategicMerge(deployment(), {
    metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] },
    spec: {
      strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null },
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'side' }, { name: 'echo' }],
          containers: [{ name: 'echo', env: [{ name: 'A', $patch: 'delete' }], ports: [{ $patch: 'replace' }, { containerPort: 8080 }] }],
          volumes: [{ $patch: 'replace' }, { name: 'w', emptyDir: {} }],
        },
      },
    },
    status: { $patch: 'delete' },
  }, deployMeta);
  t.deepEqual(out.metadata.finalizers, []);
  t.deepEqual(out.spec.strategy, { type: 'Recreate' });
  t.deepEqual(out.spec.template.spec.containers.map((/** @type {any} */ c) => c.name), ['side', 'echo']);
  const echo = out.spec.template.spec.containers[1];
  t.deepEqual(echo.env, [{ name: 'B', value: '2' }]);
  t.deepEqual(echo.ports, [{ containerPort: 8080 }]);
  t.deepEqual(out.spec.template.spec.volumes, [{ name: 'w', emptyDir: {} }]);
  t.false('status' in out);
  const replaced = strategicMerge(deployment(), { spec: { $patch: 'replace', replicas: 1 } }, deployMeta);
  t.deepEqual(replaced.spec, { replicas: 1 });
});

test('service ports merge by port; custom resource list-map keys from the schema', (t) => {
  const svcMeta = /** @type {(p: string) => any} */ (patchMetaFor('', 'Service'));
  const out = strategicMerge({ spec: { ports: [{ port: 80, name: 'http' }, { port: 443, name: 'https' }] } }, { spec: { ports: [{ port: 443, nodePort: 30443 }] } }, svcMeta);
  t.deepEqual(out.spec.ports, [{ port: 80, name: 'http' }, { port: 443, name: 'https', nodePort: 30443 }]);
  const meta = patchMetaFromSchema({ properties: { spec: { properties: { items: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], items: { type: 'object' } } } } } });
  t.deepEqual(meta('spec.items'), { mergeKey: 'name' });
  const applied = applyMerge({ spec: { items: [{ name: 'a', v: 1 }, { name: 'b', v: 2 }] } }, { spec: { items: [{ name: 'b', v: 3 }] } }, meta);
  t.deepEqual(applied.spec.items, [{ name: 'a', v: 1 }, { name: 'b', v: 3 }]);
});

test('JSON merge patch (RFC 7386) and JSON patch (RFC 6902)', (t) => {
  t.deepEqual(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { b: { c: null, e: 4 }, l: [3] }), { a: 1, b: { d: 3, e: 4 }, l: [3] });
  const doc = { metadata: { labels: { 'a/b': 'x' } }, spec: { list: [1, 2, 3] } };
  const out = jsonPatch(doc, [
    { op: 'replace', path: '/metadata/labels/a~1b', value: 'y' },
    { op: 'add', path: '/spec/list/-', value: 4 },
    { op: 'remove', path: '/spec/list/0' },
    { op: 'copy', from: '/spec/list', path: '/spec/copy' },
    { op: 'move', from: '/spec/copy', path: '/spec/moved' },
    { op: 'test', path: '/spec/moved/0', value: 2 },
  ]);
  t.deepEqual(out, { metadata: { labels: { 'a/b': 'y' } }, spec: { list: [2, 3, 4], moved: [2, 3, 4] } });
  const err = t.throws(() => jsonPatch(doc, [{ op: 'test', path: '/spec/list/0', value: 9 }]));
  t.regex(String(/** @type {any} */ (err).details?.causes?.[0]?.message), /test failed/);
  t.throws(() => jsonPatch(doc, [{ op: 'remove', path: '/spec/nope' }]));
});

test('label and field selectors', (t) => {
  const sel = parseLabelSelector('owner=helm,name==cilium,status!=superseded,tier in (a, b),env notin (prod),managed,!legacy');
  t.true(sel({ owner: 'helm', name: 'cilium', status: 'deployed', tier: 'a', managed: '' }));
  t.false(sel({ owner: 'helm', name: 'cilium', status: 'superseded', tier: 'a', managed: '' }));
  t.false(sel({ owner: 'helm', name: 'cilium', tier: 'c', managed: '' }));
  t.false(sel({ owner: 'helm', name: 'cilium', tier: 'a', managed: '', legacy: 'x' }));
  t.false(sel({ owner: 'helm', name: 'cilium', tier: 'a' }));
  t.false(sel({ owner: 'helm', name: 'cilium', tier: 'a', managed: '', env: 'prod' }));
  t.throws(() => parseLabelSelector('a in b'));
  const obj = /** @type {any} */ ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'n' }, spec: { nodeName: 'k3s-a-server' }, status: { phase: 'Running' } });
  t.true(parseFieldSelector('metadata.name=p,metadata.namespace==n', '/pods')(obj));
  t.true(parseFieldSelector('spec.nodeName=k3s-a-server,status.phase!=Pending', '/pods')(obj));
  t.false(parseFieldSelector('metadata.name!=p', '/pods')(obj));
  const err = t.throws(() => parseFieldSelector('spec.foo=x', '/configmaps'));
  t.is(err?.message, 'field label not supported: spec.foo');
});

test('printing helpers: ages like kubectl, JSONPath of printer columns', (t) => {
  t.is(humanDuration(5_000), '5s');
  t.is(humanDuration(150_000), '2m30s');
  t.is(humanDuration(3 * 3600_000 + 5 * 60_000), '3h5m');
  t.is(humanDuration(50 * 3600_000), '2d2h');
  t.is(humanDuration(400 * 24 * 3600_000), '400d');
  const o = { status: { conditions: [{ type: 'A', status: 'False' }, { type: 'cilium.io/PoolConflict', status: 'True' }] }, spec: { blocks: [{ cidr: 'x' }] } };
  t.deepEqual(jsonPathValues(o, '.status.conditions[?(@.type=="cilium.io/PoolConflict")].status'), ['True']);
  t.deepEqual(jsonPathValues(o, '.spec.blocks[0].cidr'), ['x']);
  t.deepEqual(jsonPathValues(o, '.spec.blocks[*].cidr'), ['x']);
});

test('Service allocation: ClusterIP from the CIDR, node ports kept across updates, conflicts are Invalid', (t) => {
  const svc = (/** @type {any} */ spec) => /** @type {any} */ ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'n' }, spec });
  const a = svc({ type: 'LoadBalancer', ports: [{ name: 'http', port: 80 }], allocateLoadBalancerNodePorts: true });
  allocateService([], '10.96.0.0/12', a);
  t.regex(a.spec.clusterIP, /^10\.(9[6-9]|10\d|11[01])\./);
  const np = a.spec.ports[0].nodePort;
  t.true(np >= 30000 && np <= 32767);
  const upd = svc({ type: 'LoadBalancer', ports: [{ name: 'http', port: 80 }], allocateLoadBalancerNodePorts: true });
  allocateService([a], '10.96.0.0/12', upd, a);
  t.is(upd.spec.clusterIP, a.spec.clusterIP);
  t.is(upd.spec.ports[0].nodePort, np);
  const taken = /** @type {any} */ ({ ...svc({ type: 'ClusterIP', clusterIP: '10.43.0.10', ports: [{ port: 53 }] }), metadata: { name: 'dns', namespace: 'kube-system' } });
  const dup = svc({ type: 'ClusterIP', clusterIP: '10.43.0.10', ports: [{ port: 1 }] });
  const err = t.throws(() => allocateService([taken], '10.43.0.0/16', dup));
  t.is(err?.message, 'Service "s" is invalid: spec.clusterIPs: Invalid value: []string{"10.43.0.10"}: failed to allocate IP 10.43.0.10: provided IP is already allocated');
  const changed = svc({ type: 'ClusterIP', clusterIP: '10.43.0.11', ports: [{ port: 1 }] });
  t.throws(() => allocateService([], '10.43.0.0/16', changed, taken), { message: /spec.clusterIPs\[0\]: Invalid value: \[\]string\{"10.43.0.11"\}: may not change once set/ });
});

test('Invalid errors render causes like the API server', (t) => {
  const e = invalid({ group: 'apps', kind: 'Deployment' }, 'x', [{ type: 'Required', field: 'spec.selector' }, { type: 'Invalid', field: 'spec.replicas', value: -1, detail: 'must be greater than or equal to 0' }]);
  t.is(e.message, 'Deployment.apps "x" is invalid: [spec.selector: Required value, spec.replicas: Invalid value: -1: must be greater than or equal to 0]');
  t.like(e.toStatus(), { kind: 'Status', code: 422, reason: 'Invalid', details: { name: 'x', group: 'apps', kind: 'Deployment' } });
});

/**
 * A zip with stored and deflated entries (what `zip` writes, minus CRCs nobody checks here).
 * @param {Array<[string, Buffer, boolean]>} files name, content, deflate
 */
function makeZip(files) {
  /** @type {Buffer[]} */
  const parts = [];
  /** @type {Buffer[]} */
  const central = [];
  let offset = 0;
  for (const [name, content, deflate] of files) {
    const data = deflate ? deflateRawSync(content) : content;
    const nameBuf = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(content.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    parts.push(local, nameBuf, data);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(deflate ? 8 : 0, 10);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(content.length, 24);
    cd.writeUInt16LE(nameBuf.length, 28);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, nameBuf);
    offset += 30 + nameBuf.length + data.length;
  }
  const cdBuf = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cdBuf.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBuf, end]);
}

test('the zip reader of ensure-kubectl finds stored and deflated entries', (t) => {
  const big = Buffer.from('kubectl binary '.repeat(5000));
  const zip = makeZip([['helm/helm', Buffer.from('helm'), false], ['kubectl/kubectl', big, true]]);
  t.deepEqual(readZipEntry(zip, 'kubectl/kubectl'), big);
  t.deepEqual(readZipEntry(zip, 'helm/helm'), Buffer.from('helm'));
  t.is(readZipEntry(zip, 'nope'), undefined);
  t.throws(() => readZipEntry(Buffer.from('not a zip at all, not at all'), 'x'), { message: /not a zip archive/ });
});
