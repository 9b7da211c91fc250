// @ts-check
// Request bodies in application/vnd.kubernetes.protobuf, as client-go's typed
// clients send them (the real cilium CLI's Helm stores releases in Secrets that
// way). The bodies here are encoded by hand from the wire format and the field
// numbers of k8s.io/api's generated.proto, independently of the twin's decoder.
import test from 'ava';
import { twinForTest, apiRequest } from '../support/twin-harness.mjs';

const PB = 'application/vnd.kubernetes.protobuf';

/** @param {number} n */
function varint(n) {
  const out = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
}
/** A length-delimited field. @param {number} num @param {Buffer | string} payload */
const bytes = (num, payload) => {
  const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  return Buffer.concat([varint((num << 3) | 2), varint(p.length), p]);
};
/** A map<string, T> entry. @param {number} field @param {string} k @param {Buffer | string} v */
const entry = (field, k, v) => bytes(field, Buffer.concat([bytes(1, k), bytes(2, v)]));
/** The `k8s\0` envelope around a runtime.Unknown. @param {string} apiVersion @param {string} kind @param {Buffer} raw */
const envelope = (apiVersion, kind, raw) => Buffer.concat([
  Buffer.from([0x6b, 0x38, 0x73, 0x00]),
  bytes(1, Buffer.concat([bytes(1, apiVersion), bytes(2, kind)])),
  bytes(2, raw),
]);

/** ObjectMeta: name 1, namespace 3, labels 11 (map), annotations 12 (map). @param {string} name */
const meta = (name, extra = Buffer.alloc(0)) => Buffer.concat([
  bytes(1, name), bytes(3, 'kube-system'),
  entry(11, 'owner', 'helm'), entry(11, 'status', 'deployed'),
  entry(12, 'note', 'from a typed client'), extra,
]);

/** A Secret: metadata 1, data 2 (map<string,bytes>), type 3. @param {string} name @param {Buffer} release */
const secret = (name, release, extraMeta = Buffer.alloc(0)) => envelope('v1', 'Secret', Buffer.concat([
  bytes(1, meta(name, extraMeta)), entry(2, 'release', release), bytes(3, 'helm.sh/release.v1'),
]));

test('a Secret created and updated in protobuf reads back as JSON with its labels and binary data', async (t) => {
  const { a } = await twinForTest(t);
  const release = Buffer.from([0, 1, 2, 250, 251, 252]);
  const created = await apiRequest(a, 'POST', '/api/v1/namespaces/kube-system/secrets', {
    body: secret('sh.helm.release.v1.cilium.v1', release), contentType: PB, accept: `${PB},application/json`,
  });
  t.is(created.status, 201, created.text);
  t.is(created.headers['content-type'], 'application/json', 'answers stay JSON');
  const got = await apiRequest(a, 'GET', '/api/v1/namespaces/kube-system/secrets/sh.helm.release.v1.cilium.v1');
  t.is(got.status, 200, got.text);
  t.like(got.json, {
    kind: 'Secret', type: 'helm.sh/release.v1',
    metadata: { name: 'sh.helm.release.v1.cilium.v1', namespace: 'kube-system', labels: { owner: 'helm', status: 'deployed' }, annotations: { note: 'from a typed client' } },
  });
  t.deepEqual(Buffer.from(got.json.data.release, 'base64'), release);

  // An update carries the resourceVersion it read (ObjectMeta field 6).
  const rv = got.json.metadata.resourceVersion;
  const updated = await apiRequest(a, 'PUT', '/api/v1/namespaces/kube-system/secrets/sh.helm.release.v1.cilium.v1', {
    body: secret('sh.helm.release.v1.cilium.v1', Buffer.from('v2'), bytes(6, rv)), contentType: PB,
  });
  t.is(updated.status, 200, updated.text);
  t.is(Buffer.from(updated.json.data.release, 'base64').toString(), 'v2');
  const stale = await apiRequest(a, 'PUT', '/api/v1/namespaces/kube-system/secrets/sh.helm.release.v1.cilium.v1', {
    body: secret('sh.helm.release.v1.cilium.v1', Buffer.from('v3'), bytes(6, rv)), contentType: PB,
  });
  t.is(stale.status, 409, `a stale resourceVersion in protobuf is a conflict too: ${stale.text}`);
});

test('DeleteOptions in protobuf: preconditions and propagation are honoured', async (t) => {
  const { a } = await twinForTest(t);
  const created = await apiRequest(a, 'POST', '/api/v1/namespaces/kube-system/secrets', {
    body: secret('to-delete', Buffer.from('x')), contentType: PB,
  });
  t.is(created.status, 201, created.text);
  // DeleteOptions: preconditions 2 {uid 1}, propagationPolicy 4.
  const opts = (/** @type {string} */ uid) => envelope('meta.k8s.io/v1', 'DeleteOptions', Buffer.concat([
    bytes(2, bytes(1, uid)), bytes(4, 'Background'),
  ]));
  const wrong = await apiRequest(a, 'DELETE', '/api/v1/namespaces/kube-system/secrets/to-delete', { body: opts('not-the-uid'), contentType: PB });
  t.is(wrong.status, 409, wrong.text);
  t.regex(wrong.json.message, /Precondition failed: UID in precondition: not-the-uid/);
  const right = await apiRequest(a, 'DELETE', '/api/v1/namespaces/kube-system/secrets/to-delete', { body: opts(created.json.metadata.uid), contentType: PB });
  t.is(right.status, 200, right.text);
  const gone = await apiRequest(a, 'GET', '/api/v1/namespaces/kube-system/secrets/to-delete');
  t.is(gone.status, 404, gone.text);
});

test('a protobuf body the twin cannot read is refused with 415, naming what it got', async (t) => {
  const { a } = await twinForTest(t);
  const deployment = envelope('apps/v1', 'Deployment', bytes(1, meta('x')));
  const r = await apiRequest(a, 'POST', '/apis/apps/v1/namespaces/kube-system/deployments', { body: deployment, contentType: PB });
  t.is(r.status, 415, r.text);
  t.regex(r.json.message, /not apps\/v1\/Deployment/);
  const garbage = await apiRequest(a, 'POST', '/api/v1/namespaces/kube-system/secrets', { body: Buffer.from('{"kind":"Secret"}'), contentType: PB });
  t.is(garbage.status, 415, garbage.text);
  t.regex(garbage.json.message, /magic bytes/);
  const patch = await apiRequest(a, 'PATCH', '/api/v1/namespaces/kube-system/secrets/x', { body: secret('x', Buffer.from('')), contentType: PB });
  t.is(patch.status, 415, `a patch is never protobuf: ${patch.text}`);
});
