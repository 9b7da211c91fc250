// @ts-check
// Request bodies in `application/vnd.kubernetes.protobuf`, decoded to the
// JSON form the rest of the server handles. client-go's typed clients send
// protobuf for built-in kinds (the real cilium CLI's Helm stores its releases
// in Secrets that way, and deletes with protobuf DeleteOptions). Answers stay
// JSON: those clients accept it and decode by the response's Content-Type.
//
// The envelope is the 4 bytes `k8s\0` and a runtime.Unknown
// {1: TypeMeta{1: apiVersion, 2: kind}, 2: raw, 3: contentEncoding, 4: contentType};
// raw is the kind's generated message. Field numbers are those of k8s.io/api's
// and apimachinery's generated.proto; only the messages a client sends us are here.
import { ApiError } from '../kinds/errors.mjs';

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/**
 * A field: [name, type]; a type is a scalar name, a message name, or
 * `map:<value type>` / `[]<type>` for maps (string keys) and repeated fields.
 * @typedef {Record<number, [string, string]>} Message
 */

/** @type {Record<string, Message>} */
const MESSAGES = {
  Unknown: { 1: ['typeMeta', 'RuntimeTypeMeta'], 2: ['raw', 'bytes'], 3: ['contentEncoding', 'string'], 4: ['contentType', 'string'] },
  RuntimeTypeMeta: { 1: ['apiVersion', 'string'], 2: ['kind', 'string'] },
  ObjectMeta: {
    1: ['name', 'string'], 2: ['generateName', 'string'], 3: ['namespace', 'string'], 4: ['selfLink', 'string'],
    5: ['uid', 'string'], 6: ['resourceVersion', 'string'], 7: ['generation', 'int64'],
    8: ['creationTimestamp', 'Time'], 9: ['deletionTimestamp', 'Time'], 10: ['deletionGracePeriodSeconds', 'int64'],
    11: ['labels', 'map:string'], 12: ['annotations', 'map:string'], 13: ['ownerReferences', '[]OwnerReference'],
    14: ['finalizers', '[]string'], 17: ['managedFields', '[]ManagedFieldsEntry'],
  },
  OwnerReference: {
    5: ['apiVersion', 'string'], 1: ['kind', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'],
    6: ['controller', 'bool'], 7: ['blockOwnerDeletion', 'bool'],
  },
  ManagedFieldsEntry: {
    1: ['manager', 'string'], 2: ['operation', 'string'], 3: ['apiVersion', 'string'], 4: ['time', 'Time'],
    6: ['fieldsType', 'string'], 7: ['fieldsV1', 'FieldsV1'], 8: ['subresource', 'string'],
  },
  FieldsV1: { 1: ['Raw', 'bytes'] },
  Time: { 1: ['seconds', 'int64'], 2: ['nanos', 'int64'] },
  DeleteOptions: {
    1: ['gracePeriodSeconds', 'int64'], 2: ['preconditions', 'Preconditions'], 3: ['orphanDependents', 'bool'],
    4: ['propagationPolicy', 'string'], 5: ['dryRun', '[]string'], 6: ['ignoreStoreReadErrorWithClusterBreakingPotential', 'bool'],
  },
  Preconditions: { 1: ['uid', 'string'], 2: ['resourceVersion', 'string'] },
  Secret: { 1: ['metadata', 'ObjectMeta'], 2: ['data', 'map:bytes'], 3: ['type', 'string'], 4: ['stringData', 'map:string'], 5: ['immutable', 'bool'] },
  ConfigMap: { 1: ['metadata', 'ObjectMeta'], 2: ['data', 'map:string'], 3: ['binaryData', 'map:bytes'], 4: ['immutable', 'bool'] },
  Namespace: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'NamespaceSpec'] },
  NamespaceSpec: { 1: ['finalizers', '[]string'] },
  ServiceAccount: {
    1: ['metadata', 'ObjectMeta'], 2: ['secrets', '[]ObjectReference'], 3: ['imagePullSecrets', '[]LocalObjectReference'],
    4: ['automountServiceAccountToken', 'bool'],
  },
  ObjectReference: {
    1: ['kind', 'string'], 2: ['namespace', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'],
    5: ['apiVersion', 'string'], 6: ['resourceVersion', 'string'], 7: ['fieldPath', 'string'],
  },
  LocalObjectReference: { 1: ['name', 'string'] },
};

/** The kinds whose protobuf bodies the twin reads, by "apiVersion/kind". */
const KINDS = {
  'v1/Secret': 'Secret', 'v1/ConfigMap': 'ConfigMap', 'v1/Namespace': 'Namespace', 'v1/ServiceAccount': 'ServiceAccount',
  'meta.k8s.io/v1/DeleteOptions': 'DeleteOptions', 'v1/DeleteOptions': 'DeleteOptions',
};

/** Reads protobuf wire format: varints, and length-delimited fields. */
class Reader {
  /** @param {Buffer} buf */
  constructor(buf) { this.buf = buf; this.pos = 0; }
  get done() { return this.pos >= this.buf.length; }
  varint() {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (this.pos >= this.buf.length || shift > 63n) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  }
  /** @param {number} n */
  take(n) {
    if (n < 0 || this.pos + n > this.buf.length) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  /** @param {number} wire */
  skip(wire) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.take(8);
    else if (wire === 2) this.take(Number(this.varint()));
    else if (wire === 5) this.take(4);
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

/** @param {string} type @param {number} wire @param {Reader} r */
function scalar(type, wire, r) {
  if (type === 'string') return r.take(Number(r.varint())).toString('utf8');
  if (type === 'bytes') return r.take(Number(r.varint())).toString('base64');
  if (wire !== 0) throw new Error(`${type} field with wire type ${wire}`);
  const v = r.varint();
  if (type === 'bool') return v !== 0n;
  return Number(BigInt.asIntN(64, v));
}

/** @param {string} type @param {number} wire @param {Reader} r @returns {unknown} */
function value(type, wire, r) {
  if (!MESSAGES[type]) return scalar(type, wire, r);
  if (wire !== 2) throw new Error(`message ${type} with wire type ${wire}`);
  return decodeMessage(type, r.take(Number(r.varint())));
}

/**
 * @param {string} name a key of MESSAGES
 * @param {Buffer} buf
 * @returns {Record<string, any>}
 */
function decodeMessage(name, buf) {
  const fields = MESSAGES[name];
  /** @type {Record<string, any>} */
  const out = {};
  const r = new Reader(buf);
  while (!r.done) {
    const tag = Number(r.varint());
    const num = tag >>> 3;
    const wire = tag & 7;
    const field = fields[num];
    if (!field) { r.skip(wire); continue; }
    const [key, type] = field;
    if (type.startsWith('map:')) {
      const entry = new Reader(r.take(Number(r.varint())));
      let k = '';
      /** @type {unknown} */
      let v = '';
      while (!entry.done) {
        const t = Number(entry.varint());
        if (t >>> 3 === 1) k = /** @type {string} */ (scalar('string', t & 7, entry));
        else if (t >>> 3 === 2) v = scalar(type.slice(4), t & 7, entry);
        else entry.skip(t & 7);
      }
      (out[key] ??= {})[k] = v;
    } else if (type.startsWith('[]')) {
      (out[key] ??= []).push(value(type.slice(2), wire, r));
    } else {
      out[key] = value(type, wire, r);
    }
  }
  if (name === 'Time') return /** @type {any} */ (rfc3339(out.seconds ?? 0));
  return out;
}

/** @param {number} seconds */
function rfc3339(seconds) {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** @param {string} why */
const unreadable = (why) => new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format: ${why}`);

/**
 * Decodes a protobuf request body into the object's JSON form (apiVersion and
 * kind included). Kinds the twin cannot read are refused with 415, naming them.
 * @param {Buffer} body
 * @returns {Record<string, any>}
 */
export function decodeProtobuf(body) {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) {
    throw unreadable('the protobuf body does not start with the k8s magic bytes');
  }
  let unknown;
  try {
    unknown = decodeMessage('Unknown', body.subarray(4));
  } catch (e) {
    throw unreadable(`the protobuf envelope could not be read: ${/** @type {Error} */ (e).message}`);
  }
  const apiVersion = unknown.typeMeta?.apiVersion ?? '';
  const kind = unknown.typeMeta?.kind ?? '';
  const message = KINDS[/** @type {keyof typeof KINDS} */ (`${apiVersion}/${kind}`)];
  if (!message) throw unreadable(`the twin reads protobuf bodies of ${Object.keys(KINDS).join(', ')} only, not ${apiVersion}/${kind}`);
  try {
    const obj = decodeMessage(message, Buffer.from(unknown.raw ?? '', 'base64'));
    return { apiVersion, kind, ...obj };
  } catch (e) {
    throw unreadable(`the protobuf ${kind} could not be read: ${/** @type {Error} */ (e).message}`);
  }
}
