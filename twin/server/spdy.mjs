// @ts-check
// The server side of SPDY/3.1 as client-go's SPDY executor (moby/spdystream)
// uses it for pods/exec: control frames SYN_STREAM (answered with SYN_REPLY),
// RST_STREAM, SETTINGS, PING (echoed), GOAWAY, WINDOW_UPDATE; data frames with
// FIN; header blocks compressed with one zlib stream per direction primed with
// the SPDY/3 dictionary (draft-mbelshe-httpbis-spdy-00, 2.6.10.1). Emits
// 'stream' (id, headers) for each stream the client opens, 'data' (id, Buffer,
// fin) and 'close'. No flow control beyond accepting WINDOW_UPDATE: the
// answers here are small.
import { EventEmitter } from 'node:events';
import zlib from 'node:zlib';

/** The SPDY/3 header dictionary: 65 length-prefixed header words, then a tail of common values. */
const DICT_WORDS = ('options head post put delete trace accept accept-charset accept-encoding accept-language accept-ranges age allow ' +
  'authorization cache-control connection content-base content-encoding content-language content-length content-location ' +
  'content-md5 content-range content-type date etag expect expires from host if-match if-modified-since if-none-match ' +
  'if-range if-unmodified-since last-modified location max-forwards pragma proxy-authenticate proxy-authorization range ' +
  'referer retry-after server te trailer transfer-encoding upgrade user-agent vary via warning www-authenticate method ' +
  'get status 200_OK version HTTP/1.1 url public set-cookie keep-alive origin').split(' ').map((w) => w.replace('_', ' '));
const DICT_TAIL = '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden' +
  '404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,' +
  'publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

export const SPDY_DICTIONARY = Buffer.concat([
  ...DICT_WORDS.map((w) => { const b = Buffer.alloc(4 + w.length); b.writeUInt32BE(w.length, 0); b.write(w, 4, 'latin1'); return b; }),
  Buffer.from(DICT_TAIL, 'latin1'),
]);

const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const PING = 6;
const GOAWAY = 7;
const FLAG_FIN = 0x01;

/**
 * A zlib stream kept across header blocks; each call flushes with Z_SYNC_FLUSH.
 * @param {zlib.Deflate | zlib.Inflate} z @param {Buffer} input @returns {Promise<Buffer>}
 */
function through(z, input) {
  return new Promise((resolve, reject) => {
    /** @type {Buffer[]} */
    const out = [];
    const onData = (/** @type {Buffer} */ d) => out.push(d);
    const onError = (/** @type {Error} */ e) => { z.off('data', onData); reject(e); };
    z.on('data', onData);
    z.once('error', onError);
    z.write(input);
    z.flush(zlib.constants.Z_SYNC_FLUSH, () => { z.off('data', onData); z.off('error', onError); resolve(Buffer.concat(out)); });
  });
}

/** A SPDY/3.1 server session on an upgraded socket. */
export class SpdySession extends EventEmitter {
  /** @param {import('node:stream').Duplex} socket @param {Buffer} [head] */
  constructor(socket, head) {
    super();
    this.socket = socket;
    this.buf = head?.length ? Buffer.from(head) : Buffer.alloc(0);
    this.inflate = zlib.createInflate({ dictionary: SPDY_DICTIONARY });
    this.deflate = zlib.createDeflate({ dictionary: SPDY_DICTIONARY });
    /** Frames are handled one at a time (header blocks decompress asynchronously). */
    this.queue = Promise.resolve();
    /** Writes in order too (a SYN_REPLY's header block compresses asynchronously). */
    this.out = Promise.resolve();
    this.closed = false;
    socket.on('data', (/** @type {Buffer} */ d) => { this.buf = Buffer.concat([this.buf, d]); this.parse(); });
    socket.on('close', () => this.finish());
    socket.on('error', () => this.finish());
    if (this.buf.length) queueMicrotask(() => this.parse());
  }

  parse() {
    while (this.buf.length >= 8) {
      const len = this.buf.readUIntBE(5, 3);
      if (this.buf.length < 8 + len) return;
      const frame = this.buf.subarray(0, 8 + len);
      this.buf = this.buf.subarray(8 + len);
      this.queue = this.queue.then(() => this.frame(Buffer.from(frame))).catch(() => { this.socket.destroy(); });
    }
  }

  /** @param {Buffer} f */
  async frame(f) {
    const flags = f[4];
    const body = f.subarray(8);
    if ((f[0] & 0x80) === 0) {
      this.emit('data', f.readUInt32BE(0) & 0x7fffffff, body, (flags & FLAG_FIN) !== 0);
      return;
    }
    const type = f.readUInt16BE(2);
    if (type === SYN_STREAM) {
      const id = body.readUInt32BE(0) & 0x7fffffff;
      const headers = parseHeaderBlock(await through(this.inflate, body.subarray(10)));
      await this.control(SYN_REPLY, 0, Buffer.concat([u32(id), await through(this.deflate, headerBlock({}))]));
      this.emit('stream', id, headers);
      if (flags & FLAG_FIN) this.emit('data', id, Buffer.alloc(0), true);
    } else if (type === PING) {
      await this.control(PING, 0, body);
    } else if (type === RST_STREAM) {
      this.emit('data', body.readUInt32BE(0) & 0x7fffffff, Buffer.alloc(0), true);
    } else if (type === GOAWAY) {
      this.socket.end();
    } else if (type === 8) {
      await through(this.inflate, body.subarray(4)); // HEADERS: keep the decompressor in step
    }
    // SETTINGS, WINDOW_UPDATE: nothing to answer.
  }

  /** @param {number} type @param {number} flags @param {Buffer} body */
  control(type, flags, body) {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(0x8003, 0);
    h.writeUInt16BE(type, 2);
    h.writeUInt32BE(body.length, 4);
    h[4] = flags;
    return this.write(Buffer.concat([h, body]));
  }

  /** A data frame (split at 64 KiB), FIN on the last when asked. @param {number} id @param {Buffer} data @param {boolean} fin */
  data(id, data, fin) {
    let p = Promise.resolve();
    for (let off = 0; off < data.length || (off === 0 && fin); off += 0xffff) {
      const chunk = data.subarray(off, off + 0xffff);
      const last = off + 0xffff >= data.length;
      const h = Buffer.alloc(8);
      h.writeUInt32BE(id & 0x7fffffff, 0);
      h.writeUInt32BE(chunk.length, 4);
      h[4] = fin && last ? FLAG_FIN : 0;
      p = this.write(Buffer.concat([h, chunk]));
      if (last) break;
    }
    return p;
  }

  /** @param {Buffer} b */
  write(b) {
    this.out = this.out.then(() => { if (!this.socket.destroyed && !this.socket.writableEnded) this.socket.write(b); });
    return this.out;
  }

  /** GOAWAY, then the socket ends. */
  async goAway() {
    await this.control(GOAWAY, 0, Buffer.alloc(8));
    await this.out;
    this.socket.end();
  }

  finish() {
    if (this.closed) return;
    this.closed = true;
    this.inflate.close();
    this.deflate.close();
    this.emit('close');
  }
}

/** @param {number} n */
function u32(n) { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0, 0); return b; }

/** An uncompressed SPDY/3 header block. @param {Record<string, string>} h */
export function headerBlock(h) {
  const parts = [u32(Object.keys(h).length)];
  for (const [k, v] of Object.entries(h)) {
    const kb = Buffer.from(k.toLowerCase());
    const vb = Buffer.from(v);
    parts.push(u32(kb.length), kb, u32(vb.length), vb);
  }
  return Buffer.concat(parts);
}

/** @param {Buffer} b @returns {Record<string, string>} */
export function parseHeaderBlock(b) {
  /** @type {Record<string, string>} */
  const out = {};
  let off = 4;
  for (let n = b.readUInt32BE(0); n > 0; n--) {
    const kl = b.readUInt32BE(off); off += 4;
    const k = b.subarray(off, off + kl).toString(); off += kl;
    const vl = b.readUInt32BE(off); off += 4;
    out[k] = b.subarray(off, off + vl).toString(); off += vl;
  }
  return out;
}
