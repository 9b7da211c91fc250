// @ts-check
// The real kube-apiserver's audit log, as the real backend asks for it: one
// JSON event per mutating request (Metadata level: who, what, from which
// client), reads and node/leader Leases left out, and the tally of those a
// runbook's clients made (kubectl, the cilium CLI, Helm) since a mark.
import { readFileSync, statSync, writeFileSync } from 'node:fs';

/** The audit policy: mutating requests at Metadata level, everything else not logged. */
export const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  verbs: [get, list, watch]
- level: None
  resources:
  - group: coordination.k8s.io
    resources: [leases]
- level: Metadata
`;

/** Writes the policy file. @param {string} path */
export function writeAuditPolicy(path) {
  writeFileSync(path, AUDIT_POLICY, { mode: 0o600 });
}

/** The user agents of the runbook's own clients: the real kubectl, the real or stand-in cilium CLI, Helm. */
export const RUNBOOK_CLIENTS = /^(kubectl|cilium-cli|cilium|helm|Helm)\//;

/**
 * @typedef {object} AuditedRequest
 * @property {string} verb create, update, patch, delete, deletecollection
 * @property {string} uri
 * @property {number} code the answer's HTTP status
 * @property {string} userAgent
 */

/** The log's size now: a mark to count from. @param {string} path */
export function auditMark(path) {
  try { return statSync(path).size; } catch { return 0; }
}

/**
 * The mutating requests of the runbook's clients logged after `mark` (a byte
 * offset from auditMark), each with its verb, URI, answer and client. A
 * server-side dry run (dryRun=All, as `kubectl diff` sends) changes nothing
 * and is not counted; a refused request is (it was still an attempt to change).
 * @param {string} path @param {number} [mark]
 * @returns {AuditedRequest[]}
 */
export function runbookMutations(path, mark = 0) {
  let text = '';
  try { text = readFileSync(path).subarray(mark).toString('utf8'); } catch { return []; }
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l))
    .filter((e) => e.stage === 'ResponseComplete' && RUNBOOK_CLIENTS.test(String(e.userAgent ?? ''))
      && !/[?&]dryRun=All(&|$)/.test(String(e.requestURI)))
    .map((e) => ({ verb: String(e.verb), uri: String(e.requestURI), code: Number(e.responseStatus?.code ?? 0), userAgent: String(e.userAgent) }));
}
