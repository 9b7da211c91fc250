// @ts-check
// End-to-end harness: a twin with controllers and data plane, the runbook's env
// file for it, and the real scripts run as child processes against it (the real
// kubectl, the cilium stand-in on PATH). Each twin claims its own 127.N.0.0/16
// for LoadBalancer IPs so test files can run side by side.
import { spawn } from 'node:child_process';
import { mkdirSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { startTwin } from '../../twin/twin.mjs';
import { meshState } from '../../twin/controllers/index.mjs';
import { twinEnv, writeTwinEnv, processEnvFor } from '../../twin/runbook-env.mjs';
import { pathWithTools } from './kubectl.mjs';
import { describeDeadline, scaled } from './time.mjs';
import { killTree } from './proc.mjs';
import { realCiliumDir } from './real-cilium.mjs';

/** @typedef {import('../../twin/server/types.js').RunningTwin} RunningTwin */
/** @typedef {import('../../twin/store/types.js').KubeObject} KubeObject */

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NETS = join(tmpdir(), 'clustermesh-runbook-test-nets');

/** Claims a free second octet for this twin's addresses (127.N.x.y). */
function claimNet() {
  mkdirSync(NETS, { recursive: true });
  for (let i = 0; i < 500; i++) {
    const n = 30 + Math.floor(Math.random() * 220);
    try {
      mkdirSync(join(NETS, String(n)));
      return n;
    } catch { /* taken */ }
  }
  throw new Error('no free 127.N network for a test twin');
}

/**
 * @typedef {{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string, output: string }} RunResult
 */

/**
 * @typedef {object} E2E
 * @property {RunningTwin} twin
 * @property {string} net e.g. "127.42"
 * @property {Record<string, string>} vars the env file's variables
 * @property {string} envFile
 * @property {NodeJS.ProcessEnv} env the environment for runbook processes
 * @property {(script: string, args?: string[], o?: RunOptions) => Promise<RunResult>} run
 *   runs scripts/<script> ("all.mjs", "04-mesh-pools.mjs") to its end
 * @property {() => { requests: number, reads: number, writes: number }} stats both servers, summed
 * @property {() => void} resetStats
 * @property {(key: 'a' | 'b') => import('../../twin/store/store.mjs').Store} store
 * @property {() => Promise<void>} stop
 */

/**
 * @typedef {{ env?: NodeJS.ProcessEnv, onOutput?: (text: string, child: import('node:child_process').ChildProcess) => void, timeoutMs?: number }} RunOptions
 *   onOutput sees every chunk of stdout+stderr as it arrives (to kill the run at a chosen point);
 *   timeoutMs: on an unloaded machine (scaled by the time factor), default 120 s
 */

/**
 * @param {{ teardown(fn: () => unknown): void }} t
 * @param {{ overrides?: Record<string, string>, twin?: Record<string, any>, cilium?: string }} [o]
 *   cilium: a cilium binary to run instead of the stand-in (see real-cilium.mjs)
 * @returns {Promise<E2E>}
 */
export async function e2eTwin(t, o = {}) {
  const n = claimNet();
  const net = `127.${n}`;
  const twin = /** @type {RunningTwin} */ (await startTwin({
    nodeIpBase: { a: `${net}.10.1`, b: `${net}.20.1` },
    delays: { podReadyMs: 50, podTerminateMs: 50, crdEstablishMs: 50, lbAssignMs: 20 },
    cleanup: true,
    ...o.twin,
  }));
  const vars = twinEnv(twin, { net, overrides: o.overrides });
  const envFile = writeTwinEnv(twin, vars);
  const env = processEnvFor(twin, envFile, o.cilium ? { ciliumBin: realCiliumDir(twin.dir, o.cilium) } : {});
  env.PATH = pathWithTools(env.PATH);
  // A step that fails saves a diagnostics bundle: into the twin's folder, not the work tree.
  env.RUNBOOK_DIAGNOSTICS_DIR = join(twin.dir, 'diagnostics');
  // Step 09 saves the drill's record (JSON, SVG): there too.
  env.RUNBOOK_FAILOVER_DIR = join(twin.dir, 'failover');
  const h = {
    twin, net, vars, envFile, env,
    run: (/** @type {string} */ script, /** @type {string[]} */ args = [], /** @type {RunOptions} */ ro = {}) =>
      runScript(script, args, { ...ro, env: { ...env, ...ro.env } }),
    stats() {
      const s = [twin.clusters.a.server.stats(), twin.clusters.b.server.stats()];
      return { requests: s[0].requests + s[1].requests, reads: s[0].reads + s[1].reads, writes: s[0].writes + s[1].writes };
    },
    resetStats() {
      twin.clusters.a.server.resetStats();
      twin.clusters.b.server.resetStats();
    },
    store: (/** @type {'a' | 'b'} */ k) => twin.clusters[k].store,
    async stop() {
      await twin.stop();
      try { rmdirSync(join(NETS, String(n))); } catch { /* gone */ }
    },
  };
  t.teardown(() => h.stop());
  return h;
}

/**
 * Runs scripts/<script> to its end. Past its deadline the harness kills the run
 * and everything it started, and the promise rejects saying so, with the end of
 * the run's output.
 * @param {string} script
 * @param {string[]} args
 * @param {RunOptions} o
 * @returns {Promise<RunResult>}
 */
export function runScript(script, args, o) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts', script), ...args],
      { env: { ...o.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let output = '';
    const limit = scaled(o.timeoutMs ?? 120_000);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) killTree(child.pid);
    }, limit);
    child.stdout.on('data', (d) => { stdout += d; output += d; o.onOutput?.(output, child); });
    child.stderr.on('data', (d) => { stderr += d; output += d; o.onOutput?.(output, child); });
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (!timedOut) return resolve({ code, signal, stdout, stderr, output });
      const last = output.trimEnd().split('\n').slice(-40).join('\n');
      reject(new Error(`scripts/${[script, ...args].join(' ')} killed by the test harness after ${describeDeadline(limit)}, last output:\n${last || '(none)'}`));
    });
  });
}

/** @param {string} b64 */
const unb64 = (b64) => Buffer.from(b64, 'base64').toString('utf8');

/**
 * The deployed Cilium Helm release of a cluster, decoded as Helm stores it.
 * @param {E2E} h @param {'a' | 'b'} k
 * @returns {{ version: number, config: any, chart: any } | null}
 */
export function helmRelease(h, k) {
  const secrets = h.store(k).list('/secrets', 'kube-system')
    .filter((s) => s.metadata.labels?.owner === 'helm' && s.metadata.labels?.name === 'cilium' && s.metadata.labels?.status === 'deployed');
  if (!secrets.length) return null;
  let raw = Buffer.from(unb64(secrets[0].data.release), 'base64');
  if (raw[0] === 0x1f) raw = gunzipSync(raw);
  return JSON.parse(raw.toString('utf8'));
}

/** @param {E2E} h @param {'a' | 'b'} k @param {string} resource @param {string} ns @param {string} name */
export const obj = (h, k, resource, ns, name) => h.store(k).get(resource, ns, name);

/**
 * The end state the article leads to, in a form two runs can be compared by
 * (no uids, resourceVersions, timestamps or Helm revision numbers; the CA as a hash).
 * @param {E2E} h
 */
export function endState(h) {
  const ns = h.vars.ECHO_NAMESPACE ?? 'echo';
  const name = h.vars.ECHO_NAME ?? 'echo';
  /** @param {'a' | 'b'} k */
  const cluster = (k) => {
    const rel = helmRelease(h, k);
    const ca = obj(h, k, '/secrets', 'kube-system', 'cilium-ca');
    const svc = (/** @type {string} */ n, /** @type {string} */ s) => {
      const o = obj(h, k, '/services', n, s);
      return o && { type: o.spec.type, class: o.spec.loadBalancerClass, labels: o.metadata.labels, annotations: strip(o.metadata.annotations),
        ports: o.spec.ports.map((/** @type {any} */ p) => [p.port, p.targetPort]), ip: o.status?.loadBalancer?.ingress?.[0]?.ip };
    };
    const deploy = obj(h, k, 'apps/deployments', ns, name);
    return {
      values: rel?.config, chart: rel?.chart?.metadata?.version,
      config: pick(obj(h, k, '/configmaps', 'kube-system', 'cilium-config')?.data,
        ['cluster-name', 'cluster-id', 'cluster-pool-ipv4-cidr', 'kube-proxy-replacement', 'enable-l2-announcements']),
      ca: ca && createHash('sha256').update(JSON.stringify(ca.data)).digest('hex'),
      pools: h.store(k).list('cilium.io/ciliumloadbalancerippools').map((p) => [p.metadata.name, p.spec]),
      policies: h.store(k).list('cilium.io/ciliuml2announcementpolicies').map((p) => [p.metadata.name, p.spec]),
      meshService: svc('kube-system', 'clustermesh-apiserver'),
      echoService: svc(ns, name),
      echo: deploy && { replicas: deploy.spec.replicas, image: deploy.spec.template.spec.containers[0].image },
    };
  };
  return { a: cluster('a'), b: cluster('b'), mesh: meshState(h.twin).connected };
}

/** @param {Record<string, string> | undefined} o @param {string[]} keys */
function pick(o, keys) {
  return o && Object.fromEntries(keys.map((k) => [k, o[k]]));
}

/** Annotations without kubectl's bookkeeping and the drill's timestamped record. @param {Record<string, string> | undefined} a */
function strip(a) {
  if (!a) return a;
  const { 'kubectl.kubernetes.io/last-applied-configuration': _, ...rest } = a;
  return rest;
}
