// @ts-check
// What the e2e tests read besides the stores: the runbook's printed results and
// summary table, the cilium stand-in's call log (TWIN_CILIUM_LOG), the API
// servers' request logs, and the echo VIPs over real HTTP.
import http from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeTwinEnv } from '../../twin/runbook-env.mjs';
import { helmRelease } from './e2e.mjs';

/** @typedef {import('./e2e.mjs').E2E} E2E */

/**
 * One GET with a fresh connection, as curl would do it.
 * @param {string} ip @param {number | string} port @param {number} [timeoutMs]
 * @returns {Promise<{ status: number, body: string }>}
 */
export function httpGet(ip, port, timeoutMs = 3000) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: ip, port: Number(port), path: '/', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET http://${ip}:${port}/: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/**
 * Replaces variables of the env file the harness wrote (for values that depend
 * on the twin's claimed 127.N network, known only once it started).
 * @param {E2E} h @param {Record<string, string>} vars
 */
export function setEnvVars(h, vars) {
  Object.assign(h.vars, vars);
  writeTwinEnv(h.twin, h.vars);
}

/** A fresh file for the cilium stand-in's call log. @param {E2E} h @param {string} name */
export const ciliumLogFile = (h, name) => join(h.twin.dir, `cilium-calls-${name}.jsonl`);

/**
 * The cilium calls logged to `file` (none when the file does not exist).
 * @param {string} file
 * @returns {{ argv: string[], pid: number }[]}
 */
export function ciliumCalls(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

const MUTATING_TOP = new Set(['install', 'upgrade', 'uninstall']);
const MUTATING_MESH = new Set(['enable', 'disable', 'connect', 'disconnect']);

/**
 * Does this cilium call change a cluster? Looks at every word, not only the
 * leading ones, so a flag put before the subcommand cannot hide one.
 * @param {string[]} argv
 */
export function mutatingCilium(argv) {
  if (argv.includes('--help') || argv.includes('-h')) return false;
  if (argv.some((a) => MUTATING_TOP.has(a))) return true;
  const i = argv.indexOf('clustermesh');
  return i >= 0 && argv.slice(i + 1).some((a) => MUTATING_MESH.has(a));
}

/** The logged calls that change a cluster, as command lines. @param {string} file */
export const mutatingCiliumCalls = (file) => ciliumCalls(file).filter((c) => mutatingCilium(c.argv)).map((c) => `cilium ${c.argv.join(' ')}`);

/**
 * Every request but GETs on both API servers since their logs were last cleared,
 * as "a: PATCH /apis/... ?query → 200".
 * @param {E2E} h
 */
export function nonGetRequests(h) {
  return /** @type {const} */ (['a', 'b']).flatMap((k) => h.twin.clusters[k].server.requests()
    // pods/exec over SPDY is a POST (the real cilium CLI's status checks): it reads a container and
    // changes no object, as the servers' own write count has it.
    .filter((r) => r.method !== 'GET' && !(r.method === 'POST' && /^\/api\/v1\/namespaces\/[^/]+\/pods\/[^/]+\/exec$/.test(r.path)))
    .map((r) => `${k}: ${r.method} ${r.path}${r.query ? `?${r.query}` : ''} → ${r.status}`));
}

/** Resets the request counters and logs of both servers. @param {E2E} h */
export function resetRequests(h) {
  h.resetStats();
  h.twin.clusters.a.server.clearRequests();
  h.twin.clusters.b.server.clearRequests();
}

/**
 * The result lines the executor prints for each action.
 * @param {string} output
 * @returns {{ verdict: 'ok' | 'changed' | 'failed' | 'would change', title: string }[]}
 */
export function resultLines(output) {
  /** @type {{ verdict: 'ok' | 'changed' | 'failed' | 'would change', title: string }[]} */
  const rows = [];
  for (const line of output.split('\n')) {
    const m = /^(?:✔ ok {5}|✚ changed|✘ failed |… would change) (.*)$/.exec(line);
    if (!m) continue;
    const verdict = line.startsWith('✔') ? 'ok' : line.startsWith('✚') ? 'changed' : line.startsWith('✘') ? 'failed' : 'would change';
    rows.push({ verdict, title: m[1] });
  }
  return rows;
}

/**
 * all.mjs's summary table.
 * @param {string} output
 * @returns {{ id: string, ok: number, changed: number, failed: number, kubectl: number, cilium: number }[]}
 */
export function summaryRows(output) {
  const lines = output.split('\n');
  const head = lines.findIndex((l) => /^step\s+ok\s+changed\s+failed\s+time\s+kubectl\s+cilium$/.test(l));
  if (head < 0) return [];
  const rows = [];
  for (const l of lines.slice(head + 1)) {
    const m = /^(\d\d) .*?\s+(\d+)\s+(\d+)\s+(\d+)\s+[\d.]+s\s+(\d+)\s+(\d+)$/.exec(l);
    if (!m) break;
    rows.push({ id: m[1], ok: +m[2], changed: +m[3], failed: +m[4], kubectl: +m[5], cilium: +m[6] });
  }
  return rows;
}

/**
 * Everything a cluster's store holds, as one JSON text, with the Helm release
 * decoded (its values are base64(gzip) in the Secret) and Secret data decoded.
 * @param {E2E} h @param {'a' | 'b'} k
 */
export function storeText(h, k) {
  const store = h.store(k);
  const parts = [];
  for (const resource of store.objects.keys()) {
    for (const o of store.list(resource)) {
      parts.push(JSON.stringify(o));
      if (o.kind === 'Secret' && o.data) {
        for (const v of Object.values(o.data)) parts.push(Buffer.from(String(v), 'base64').toString('utf8'));
      }
    }
  }
  parts.push(JSON.stringify(helmRelease(h, k)));
  return parts.join('\n');
}

/** Every object's metadata name and namespace in a store, as "resource ns/name". @param {E2E} h @param {'a' | 'b'} k */
export function storeNames(h, k) {
  const store = h.store(k);
  return [...store.objects.keys()].flatMap((r) => store.list(r).map((o) => ({ resource: r, namespace: o.metadata.namespace ?? '', name: o.metadata.name })));
}
