// @ts-check
// Keeping keys out of what the runbook saves (the diagnostics bundle): PEM
// private keys cut from any text, Secret data and key-like fields blanked.

const PEM_KEY = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g;
/** A BEGIN line whose END is missing (cut off): everything key-like after it. */
const PEM_KEY_HEAD = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[A-Za-z0-9+/=\s\\:,-]*/g;
const BASE64_RUN = /[A-Za-z0-9+/]{40,}={0,2}/g;
export const REMOVED = '[private key removed]';

/**
 * Cuts everything that looks like a PEM private key out of a text: PEM blocks
 * (also with escaped newlines, as in JSON) and base64 strings that decode to one.
 * @param {string} text
 */
export function scrubText(text) {
  let s = text.replace(PEM_KEY, REMOVED).replace(PEM_KEY_HEAD, REMOVED);
  s = s.replace(BASE64_RUN, (run) => {
    const decoded = Buffer.from(run, 'base64').toString('latin1');
    return /PRIVATE KEY-----/.test(decoded) ? REMOVED : run;
  });
  return s;
}

/** Fields of `cilium clustermesh status -o json` that may carry keys (the CLI's accessInformation). */
const KEY_FIELDS = new Set(['client_key', 'external_workload_key', 'tls.key', 'ca.key', 'private_key', 'privateKey']);

/**
 * A copy without Secret contents: objects of kind Secret lose data and
 * stringData (their keys are kept, valued "<removed>"), and string fields named
 * like keys are dropped.
 * @param {any} v
 * @returns {any}
 */
export function redact(v) {
  if (Array.isArray(v)) return v.map(redact);
  if (!v || typeof v !== 'object') return v;
  /** @type {Record<string, any>} */
  const o = {};
  const secret = v.kind === 'Secret';
  for (const [k, x] of Object.entries(v)) {
    if (secret && (k === 'data' || k === 'stringData')) {
      o[k] = x && typeof x === 'object' ? Object.fromEntries(Object.keys(x).map((n) => [n, '<removed>'])) : '<removed>';
    } else if (KEY_FIELDS.has(k) && typeof x === 'string') {
      o[k] = '<removed>';
    } else {
      o[k] = redact(x);
    }
  }
  if (secret && o.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration']) {
    o.metadata = { ...o.metadata, annotations: { ...o.metadata.annotations, 'kubectl.kubernetes.io/last-applied-configuration': '<removed>' } };
  }
  return o;
}
