// @ts-check
// API errors as a Kubernetes API server reports them: a metav1.Status with the
// reason, HTTP code and message texts of k8s.io/apimachinery/pkg/api/errors.
// kubectl prints `Error from server (<Reason>): <message>` from them.

/**
 * @typedef {object} StatusCause
 * @property {string} reason e.g. FieldValueRequired
 * @property {string} message
 * @property {string} field
 */

/**
 * @typedef {object} StatusDetails
 * @property {string} [name]
 * @property {string} [group]
 * @property {string} [kind]
 * @property {string} [uid]
 * @property {StatusCause[]} [causes]
 * @property {number} [retryAfterSeconds]
 */

export class ApiError extends Error {
  /**
   * @param {number} code
   * @param {string} reason
   * @param {string} message
   * @param {StatusDetails} [details]
   */
  constructor(code, reason, message, details) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
    /** @type {Record<string, string>} extra response headers */
    this.headers = {};
  }

  /** @returns {Record<string, any>} the Status object */
  toStatus() {
    /** @type {Record<string, any>} */
    const s = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message };
    if (this.reason) s.reason = this.reason;
    if (this.details) s.details = this.details;
    s.code = this.code;
    return s;
  }
}

/**
 * "deployments.apps" / "secrets": the qualified resource of messages.
 * @param {{ group: string, plural: string }} r
 */
export function qualified(r) {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

/** @param {{ group: string, plural: string }} r @param {string} name */
function details(r, name) {
  /** @type {StatusDetails} */
  const d = { name };
  if (r.group) d.group = r.group;
  d.kind = r.plural;
  return d;
}

/** @param {{ group: string, plural: string }} r @param {string} name */
export const notFound = (r, name) => new ApiError(404, 'NotFound', `${qualified(r)} "${name}" not found`, details(r, name));

/** @param {{ group: string, plural: string }} r @param {string} name */
export const alreadyExists = (r, name) => new ApiError(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, details(r, name));

/** @param {{ group: string, plural: string }} r @param {string} name @param {string} [why] */
export const conflict = (r, name, why = 'the object has been modified; please apply your changes to the latest version and try again') =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`, details(r, name));

/** @param {string} message */
export const badRequest = (message) => new ApiError(400, 'BadRequest', message);

/** @param {string} message */
export const internalError = (message) => new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, {
  causes: [{ reason: '', message, field: '' }],
});

export const pageNotFound = () => new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});

/** @param {string} verb @param {{ group: string, plural: string }} [r] @param {string} [name] */
export const methodNotAllowed = (verb, r, name) =>
  new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`, r ? details(r, name ?? '') : {});

/** @param {string[]} accepted */
export const unsupportedMediaType = (accepted) =>
  new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`);

export const unauthorized = () => new ApiError(401, 'Unauthorized', 'Unauthorized');

/** @param {string} message */
export const expired = (message) => new ApiError(410, 'Expired', message);

/**
 * Field errors, as field.ErrorList renders them.
 * @typedef {{ type: 'Required'|'Invalid'|'Forbidden'|'Duplicate'|'NotSupported'|'TooLong', field: string, value?: unknown, rendered?: string, detail?: string }} FieldError
 */

const CAUSE_REASON = {
  Required: 'FieldValueRequired',
  Invalid: 'FieldValueInvalid',
  Forbidden: 'FieldValueForbidden',
  Duplicate: 'FieldValueDuplicate',
  NotSupported: 'FieldValueNotSupported',
  TooLong: 'FieldValueTooLong',
};

/**
 * Renders a value the way Go's %#v does for the simple cases in use.
 * @param {unknown} v
 * @returns {string}
 */
export function goValue(v) {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return `[]string{${v.map((x) => JSON.stringify(x)).join(', ')}}`;
  if (typeof v === 'object' && Object.values(/** @type {object} */ (v)).every((x) => typeof x === 'string')) {
    const entries = Object.entries(/** @type {Record<string,string>} */ (v)).sort(([a], [b]) => a.localeCompare(b));
    return `map[string]string{${entries.map(([k, x]) => `${JSON.stringify(k)}:${JSON.stringify(x)}`).join(', ')}}`;
  }
  return JSON.stringify(v);
}

/** @param {FieldError} e */
function causeMessage(e) {
  switch (e.type) {
    case 'Required': return `Required value${e.detail ? `: ${e.detail}` : ''}`;
    case 'Forbidden': return `Forbidden${e.detail ? `: ${e.detail}` : ''}`;
    case 'Duplicate': return `Duplicate value: ${e.rendered ?? goValue(e.value)}`;
    case 'NotSupported': return `Unsupported value: ${e.rendered ?? goValue(e.value)}${e.detail ? `: ${e.detail}` : ''}`;
    case 'TooLong': return `Too long: ${e.detail ?? ''}`;
    default: return `Invalid value: ${e.rendered ?? goValue(e.value)}${e.detail ? `: ${e.detail}` : ''}`;
  }
}

/**
 * A 422 Invalid error for an object.
 * @param {{ group: string, kind: string }} r
 * @param {string} name
 * @param {FieldError[]} errors
 */
export function invalid(r, name, errors) {
  const causes = errors.map((e) => ({ reason: CAUSE_REASON[e.type], message: causeMessage(e), field: e.field }));
  const parts = causes.map((c) => `${c.field}: ${c.message}`);
  const what = r.group ? `${r.kind}.${r.group}` : r.kind;
  const msg = `${what} "${name}" is invalid: ${parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`}`;
  /** @type {StatusDetails} */
  const d = { name };
  if (r.group) d.group = r.group;
  d.kind = r.kind;
  d.causes = causes;
  return new ApiError(422, 'Invalid', msg, d);
}
