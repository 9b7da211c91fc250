// @ts-check
// A small RFC 6455 WebSocket codec on a raw socket: the handshake key, frames
// (masked from a client, unmasked from a server), fragmentation, ping/pong and
// the close handshake. Enough for the Kubernetes streaming protocols
// (v4/v5.channel.k8s.io), which send binary messages only. Used by the API
// server (server side) and by the cilium stand-in's exec client (client side).
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Largest message accepted (the agents' answers are far smaller). */
const MAX_MESSAGE = 16 * 1024 * 1024;

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key. @param {string} key */
export const acceptKey = (key) => createHash('sha1').update(key + GUID).digest('base64');

/**
 * One frame.
 * @param {number} opcode @param {Buffer} payload @param {boolean} mask clients mask, servers do not
 */
export function encodeFrame(opcode, payload, mask) {
  const len = payload.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.alloc(head + (mask ? 4 : 0) + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = len;
  else if (len < 65536) { out[1] = 126; out.writeUInt16BE(len, 2); } else { out[1] = 127; out.writeBigUInt64BE(BigInt(len), 2); }
  if (mask) {
    out[1] |= 0x80;
    const key = randomBytes(4);
    key.copy(out, head);
    for (let i = 0; i < len; i++) out[head + 4 + i] = payload[i] ^ key[i & 3];
  } else {
    payload.copy(out, head);
  }
  return out;
}

/**
 * A WebSocket connection over an upgraded socket. Emits 'message' (Buffer,
 * isBinary) and 'close' (code, reason) once.
 */
export class WsConn extends EventEmitter {
  /**
   * @param {import('node:stream').Duplex} socket
   * @param {{ client?: boolean, head?: Buffer }} [o] client: this side masks its frames
   */
  constructor(socket, o = {}) {
    super();
    this.socket = socket;
    this.client = !!o.client;
    this.buf = o.head?.length ? Buffer.from(o.head) : Buffer.alloc(0);
    /** @type {Buffer[]} */
    this.fragments = [];
    this.fragOpcode = 0;
    this.closed = false;
    this.closeSent = false;
    socket.on('data', (/** @type {Buffer} */ d) => { this.buf = Buffer.concat([this.buf, d]); this.parse(); });
    socket.on('close', () => this.finish(1006, ''));
    socket.on('error', () => this.finish(1006, ''));
    if (this.buf.length) queueMicrotask(() => this.parse());
  }

  parse() {
    for (;;) {
      if (this.closed || this.buf.length < 2) return;
      const b0 = this.buf[0];
      const b1 = this.buf[1];
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) { if (this.buf.length < 4) return; len = this.buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (this.buf.length < 10) return; len = Number(this.buf.readBigUInt64BE(2)); off = 10; }
      if (len > MAX_MESSAGE) { this.close(1009, 'message too big'); return; }
      const masked = (b1 & 0x80) !== 0;
      const need = off + (masked ? 4 : 0) + len;
      if (this.buf.length < need) return;
      let payload = this.buf.subarray(off + (masked ? 4 : 0), need);
      if (masked) {
        const key = this.buf.subarray(off, off + 4);
        payload = Buffer.from(payload);
        for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
      }
      this.buf = this.buf.subarray(need);
      this.frame((b0 & 0x80) !== 0, b0 & 0x0f, Buffer.from(payload));
    }
  }

  /** @param {boolean} fin @param {number} opcode @param {Buffer} payload */
  frame(fin, opcode, payload) {
    if (opcode === 0x8) {
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      if (!this.closeSent) this.write(0x8, payload.subarray(0, 2));
      this.closeSent = true;
      this.socket.end();
      this.finish(code, payload.subarray(2).toString('utf8'));
      return;
    }
    if (opcode === 0x9) { this.write(0xa, payload); return; }
    if (opcode === 0xa) return;
    if (opcode !== 0) { this.fragOpcode = opcode; this.fragments = []; }
    this.fragments.push(payload);
    if (!fin) return;
    const msg = Buffer.concat(this.fragments);
    this.fragments = [];
    this.emit('message', msg, this.fragOpcode === 0x2);
  }

  /** @param {number} opcode @param {Buffer} payload */
  write(opcode, payload) {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    this.socket.write(encodeFrame(opcode, payload, this.client));
  }

  /** Sends a binary message. @param {Buffer} data */
  send(data) { if (!this.closeSent) this.write(0x2, data); }

  /** Starts the close handshake (the peer's close frame, or a timeout, ends the socket). @param {number} [code] @param {string} [reason] */
  close(code = 1000, reason = '') {
    if (this.closeSent || this.closed) return;
    this.closeSent = true;
    const p = Buffer.alloc(2 + Buffer.byteLength(reason));
    p.writeUInt16BE(code, 0);
    p.write(reason, 2);
    this.write(0x8, p);
    const t = setTimeout(() => this.socket.destroy(), 2000);
    t.unref();
    this.socket.once('close', () => clearTimeout(t));
  }

  /** @param {number} code @param {string} reason */
  finish(code, reason) {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', code, reason);
  }
}
