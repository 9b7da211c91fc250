// @ts-check
// Small HTTP helpers of the API server: bodies, JSON answers, Status errors.
import YAML from 'yaml';
import { ApiError, badRequest, unsupportedMediaType } from '../kinds/errors.mjs';
import { PROTOBUF, decodeProtobuf } from './protobuf.mjs';

/** @typedef {import('node:http').IncomingMessage} Req */
/** @typedef {import('node:http').ServerResponse} Res */

const MAX_BODY = 3 * 1024 * 1024;

/** @param {Req} req @returns {Promise<Buffer>} */
export function readBody(req) {
  return new Promise((resolve, reject) => {
    /** @type {Buffer[]} */
    const chunks = [];
    let size = 0;
    req.on('data', (/** @type {Buffer} */ c) => {
      size += c.length;
      if (size > MAX_BODY) reject(new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** @param {Req} req */
export function contentType(req) {
  return String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/**
 * Parses a request body as the API server's JSON/YAML serializers do.
 * @param {Buffer} body @param {string} type content type without parameters
 * @param {string[]} accepted media types this request accepts
 * @returns {any}
 */
export function parseBody(body, type, accepted) {
  // Whole objects (not patches) may come as protobuf from client-go's typed clients.
  if (type === PROTOBUF && accepted.includes('application/json')) return decodeProtobuf(body);
  if (!accepted.includes(type)) throw unsupportedMediaType(accepted);
  const text = body.toString('utf8');
  if (!text.trim()) throw badRequest('Object \'Kind\' is missing in \'\'');
  try {
    if (type.includes('yaml')) return YAML.parse(text);
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`couldn't get version/kind; json parse error: ${/** @type {Error} */ (e).message}`);
  }
}

/**
 * DeleteOptions from a DELETE's body (JSON, or protobuf from a typed client); none when empty.
 * @param {Buffer} body @param {Req} req
 * @returns {any}
 */
export function deleteOptions(body, req) {
  if (!body.length) return {};
  return parseBody(body, contentType(req) === PROTOBUF ? PROTOBUF : 'application/json', ['application/json']);
}

/**
 * @param {Res} res @param {number} code @param {unknown} body
 * @param {Record<string, string | string[]>} [headers]
 */
export function sendJson(res, code, body, headers = {}) {
  if (res.headersSent || res.destroyed) return;
  const data = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Content-Length': Buffer.byteLength(data),
    ...headers,
  });
  res.end(data);
}

/** @param {Res} res @param {unknown} err */
export function sendError(res, err) {
  const e = err instanceof ApiError ? err : new ApiError(500, 'InternalError', `Internal error occurred: ${/** @type {Error} */ (err)?.message ?? String(err)}`);
  sendJson(res, e.code, e.toStatus(), e.headers);
}
