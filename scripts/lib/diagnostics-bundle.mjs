// @ts-check
// The diagnostics bundle: when a step fails, what a helper would ask for first,
// saved in one folder, and the known failure it shows (scripts/lib/known-failures.mjs).
//
//   <dir>/<UTC time>/   summary.txt     the failure, the hints, what could not be collected
//                       failure.txt     the failing action and command with its stderr/stdout
//                       a-…, b-…        per cluster: cilium status and clustermesh status (JSON),
//                                       the Services, the clustermesh-apiserver Deployment, pools,
//                                       L2 policies, LB CRDs, K3s ServiceLB objects, nodes, and the
//                                       recent events of kube-system and the echo namespace (YAML)
//
// <dir> is RUNBOOK_DIAGNOSTICS_DIR (relative to the current directory), by
// default .runbook/diagnostics in the runbook's folder (gitignored).
// RUNBOOK_DIAGNOSTICS=off turns the bundle off.
//
// Collection only reads: `kubectl get` and `cilium … status`, each with a short
// timeout, all at once. Secrets are never fetched; objects of kind Secret lose
// data/stringData, fields holding keys (the CLI's client_key …) are blanked, and
// anything that looks like a PEM private key (also base64-encoded) is cut from
// every text before it is written. Folder 0700, files 0600. Whatever goes wrong
// while collecting is noted in the bundle and never replaces the step's own error.
// Not for dry runs, interrupted runs, or step 00 (local kubeconfig files only).
import { setMaxListeners } from 'node:events';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { diagnose } from './known-failures.mjs';
import { kubectl, cilium } from './commands.mjs';
import { Runtime, ToolError } from './runtime.mjs';
import { scrubText, redact } from './redact.mjs';
import { POOL_CRD, L2_CRD } from './manifests.mjs';
import { commandLine } from './bash-text.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./actions.js').Command} Command */
/** @typedef {import('./known-failures.mjs').ClusterData} ClusterData */
/** @typedef {import('./known-failures.mjs').DiagnosisData} DiagnosisData */
/** @typedef {import('./known-failures.mjs').Finding} Finding */
/** @template T @typedef {import('./known-failures.mjs').Got<T>} Got */

/** Where bundles go unless RUNBOOK_DIAGNOSTICS_DIR says otherwise: .runbook/diagnostics in the runbook's folder. */
export const DEFAULT_DIR = fileURLToPath(new URL('../../.runbook/diagnostics/', import.meta.url));

/** Each kubectl/cilium call of the collection is given up after this long. */
export const CALL_TIMEOUT_MS = 10_000;
/** Events kept per namespace, the most recent. */
const MAX_EVENTS = 200;

/**
 * What failed, as the bundle records it (a StepFailure and its step).
 * @typedef {object} FailureInfo
 * @property {string} step e.g. "07 Connect the clusters"
 * @property {string} action
 * @property {string} message
 * @property {{ line: string, code: number | null, stderr: string, stdout: string }} [tool]
 */

/**
 * @typedef {{ dir: string, findings: Finding[], missing: string[] } | { error: string }} BundleResult
 *   dir: the bundle's folder; missing: what could not be collected
 */

/** @param {NodeJS.ProcessEnv} env */
export const diagnosticsOff = (env) => /^(off|false|no|0)$/i.test((env.RUNBOOK_DIAGNOSTICS ?? '').trim());

/** @param {NodeJS.ProcessEnv} env */
export const diagnosticsDir = (env) => (env.RUNBOOK_DIAGNOSTICS_DIR?.trim() ? resolve(env.RUNBOOK_DIAGNOSTICS_DIR.trim()) : DEFAULT_DIR);

// ---- collecting ---------------------------------------------------------------------

/**
 * @typedef {{ code: number | null, stdout: string, stderr: string, error?: string }} CallResult
 */

/**
 * Runs one read-only command through the runtime (its deadline: CALL_TIMEOUT_MS); never throws.
 * @param {Runtime} rt @param {Command} cmd
 * @returns {Promise<CallResult>}
 */
async function call(rt, cmd) {
  try {
    const r = await rt.start(cmd);
    if (r.exitCode === 0) return { code: 0, stdout: r.stdout, stderr: r.stderr };
    return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr, error: rt.signal.aborted ? 'interrupted' : `exit code ${r.exitCode}` };
  } catch (err) {
    const killed = err instanceof ToolError && err.killed;
    return { code: null, stdout: '', stderr: '', error: killed ? `timed out after ${CALL_TIMEOUT_MS / 1000}s` : err instanceof Error ? err.message : String(err) };
  }
}

/** @param {string} line @param {CallResult} r */
const errorText = (line, r) => `${line}\n${r.error ?? ''}\n${r.stderr.trim()}`.trim();

/** @param {string} stdout @returns {any} */
function parseJson(stdout) {
  if (!stdout.trim()) return undefined;
  try { return JSON.parse(stdout); } catch { return undefined; }
}

/** Items of `kubectl get -o json` output (a List, one object, or nothing). @param {any} j @returns {any[]} */
const itemsOf = (j) => (!j ? [] : Array.isArray(j.items) ? j.items : [j]);

/**
 * The reads of one cluster, by name.
 * @param {Config} config @param {ClusterConfig} c
 * @returns {Record<'ciliumStatus' | 'meshStatus' | 'meshObjects' | 'echoService' | 'pools' | 'l2Policies' | 'crds' | 'servicelb' | 'nodes' | 'eventsKubeSystem' | 'eventsEcho', Command>}
 */
function reads(config, c) {
  const k = ['--context', c.context, '--request-timeout=8s'];
  const { namespace: ns, name } = config.echo;
  return {
    ciliumStatus: cilium`status --context ${c.context} -o json`,
    meshStatus: cilium`clustermesh status --context ${c.context} -o json`,
    meshObjects: kubectl`${k} get -n kube-system service/clustermesh-apiserver deployment/clustermesh-apiserver -o json --ignore-not-found`,
    echoService: kubectl`${k} get -n ${ns} service/${name} -o json --ignore-not-found`,
    pools: kubectl`${k} get ${POOL_CRD} -o json`,
    l2Policies: kubectl`${k} get ${L2_CRD} -o json`,
    crds: kubectl`${k} get customresourcedefinitions ${POOL_CRD} ${L2_CRD} -o json --ignore-not-found`,
    servicelb: kubectl`${k} get daemonsets,pods --all-namespaces -l svccontroller.k3s.cattle.io/svcname -o json`,
    nodes: kubectl`${k} get nodes -o json`,
    eventsKubeSystem: kubectl`${k} get events -n kube-system --sort-by=.lastTimestamp -o json`,
    eventsEcho: kubectl`${k} get events -n ${ns} --sort-by=.lastTimestamp -o json`,
  };
}

/**
 * Saves the bundle for a failed step and recognises known failures. Never
 * throws: a problem while collecting ends up in the bundle or in `error`.
 * @param {Config} config
 * @param {FailureInfo} failure
 * @param {{ env?: NodeJS.ProcessEnv, signal?: AbortSignal, now?: Date }} [opts]
 * @returns {Promise<BundleResult | null>} null when RUNBOOK_DIAGNOSTICS=off
 */
export async function saveDiagnostics(config, failure, opts = {}) {
  const env = opts.env ?? process.env;
  if (diagnosticsOff(env)) return null;
  // One signal for all the calls at once (each call listens to it), following the caller's.
  const inner = new AbortController();
  setMaxListeners(64, inner.signal);
  const onAbort = () => inner.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const dir = makeBundleDir(diagnosticsDir(env), opts.now ?? new Date());
    const rt = new Runtime({ config, mode: 'run', signal: inner.signal, env, bounds: { plain: CALL_TIMEOUT_MS / 1000, margin: 0 } });
    /** @type {string[]} */
    const missing = [];
    /** @type {string[]} */
    const written = [];
    /** @param {string} file @param {string} text */
    const save = (file, text) => {
      try {
        writeFileSync(join(dir, file), scrubText(text), { mode: 0o600, flag: 'wx' });
        written.push(file);
      } catch (err) {
        missing.push(`${file}: not written (${err instanceof Error ? err.message : String(err)})`);
      }
    };
    /** @param {string} file @param {any[]} items */
    const saveList = (file, items) => save(file, YAML.stringify(redact({ apiVersion: 'v1', kind: 'List', items })));

    save('failure.txt', failureText(failure));

    // Everything is read at once; what was read is then saved cluster by cluster, in order.
    const collected = await Promise.all(config.clusters.map(async (c) => {
      const plan = reads(config, c);
      const names = /** @type {(keyof typeof plan)[]} */ (Object.keys(plan));
      const results = await Promise.all(names.map((n) => call(rt, plan[n])));
      /** @type {Record<string, { line: string, r: CallResult, json: any }>} */
      const got = {};
      names.forEach((n, i) => {
        got[n] = { line: commandLine(plan[n].tool, plan[n].args), r: results[i], json: parseJson(results[i].stdout) };
      });
      return { c, got };
    }));
    const clusters = collected.map(({ c, got }) => {
      const p = `${c.key}-`;
      /**
       * A Got from a call: ok with its value, or the error (keeping a value
       * the command printed anyway).
       * @template T @param {string} n @param {(json: any) => T} pick @returns {Got<T>}
       */
      const asGot = (n, pick) => {
        const { line, r, json } = got[n];
        if (!r.error) return { ok: true, value: pick(json) };
        const g = /** @type {Got<T>} */ ({ ok: false, error: errorText(line, r) });
        if (json !== undefined) g.value = pick(json);
        return g;
      };
      /** A failed read: its error in <stem>.error.txt. @param {string} n @param {string} stem */
      const noteError = (n, stem) => {
        const { line, r } = got[n];
        if (!r.error) return false;
        save(`${p}${stem}.error.txt`, `${errorText(line, r)}\n${r.stdout.trim() ? `--- stdout\n${r.stdout}` : ''}`);
        missing.push(`${c.context}: ${line} failed (${r.error}): see ${p}${stem}.error.txt`);
        return true;
      };

      for (const [n, stem] of /** @type {const} */ ([['ciliumStatus', 'cilium-status'], ['meshStatus', 'clustermesh-status']])) {
        noteError(n, stem);
        if (got[n].json !== undefined) save(`${p}${stem}.json`, `${JSON.stringify(redact(got[n].json), null, 2)}\n`);
      }
      const meshObjects = itemsOf(got.meshObjects.json);
      const meshService = meshObjects.find((o) => o?.kind === 'Service') ?? null;
      const apiserver = meshObjects.find((o) => o?.kind === 'Deployment') ?? null;
      const echoService = itemsOf(got.echoService.json)[0] ?? null;
      const meshFailed = noteError('meshObjects', 'clustermesh-apiserver');
      noteError('echoService', 'echo-service');
      saveList(`${p}services.yaml`, [meshService, echoService].filter(Boolean));
      if (!meshFailed) saveList(`${p}clustermesh-apiserver-deployment.yaml`, apiserver ? [apiserver] : []);
      for (const [n, stem] of /** @type {const} */ ([['pools', 'pools'], ['l2Policies', 'l2-policies'], ['servicelb', 'servicelb']])) {
        if (!noteError(n, stem)) saveList(`${p}${stem}.yaml`, itemsOf(got[n].json));
      }
      if (!noteError('crds', 'crds')) {
        // The schemas are large and say nothing about readiness: names and conditions only.
        saveList(`${p}crds.yaml`, itemsOf(got.crds.json).map((o) => ({
          apiVersion: o.apiVersion, kind: o.kind,
          metadata: { name: o.metadata?.name, creationTimestamp: o.metadata?.creationTimestamp },
          status: { conditions: o.status?.conditions ?? [] },
        })));
      }
      if (!noteError('nodes', 'nodes')) {
        saveList(`${p}nodes.yaml`, itemsOf(got.nodes.json).map((o) => ({
          apiVersion: o.apiVersion, kind: o.kind,
          metadata: { name: o.metadata?.name, labels: o.metadata?.labels },
          status: { addresses: o.status?.addresses ?? [], conditions: (o.status?.conditions ?? []).filter((/** @type {any} */ x) => x?.type === 'Ready') },
        })));
      }
      for (const [n, ns] of /** @type {const} */ ([['eventsKubeSystem', 'kube-system'], ['eventsEcho', config.echo.namespace]])) {
        if (!noteError(n, `events-${ns}`)) saveList(`${p}events-${ns}.yaml`, itemsOf(got[n].json).slice(-MAX_EVENTS));
      }

      /** @type {ClusterData} */
      const data = {
        cluster: { key: c.key, label: c.label, context: c.context, name: c.name, meshIp: c.meshIp, appPool: { ...c.appPool } },
        ciliumStatus: asGot('ciliumStatus', (j) => j),
        meshStatus: asGot('meshStatus', (j) => j),
        meshService: got.meshObjects.r.error ? { ok: false, error: errorText(got.meshObjects.line, got.meshObjects.r) } : { ok: true, value: meshService },
        apiserver: got.meshObjects.r.error ? { ok: false, error: errorText(got.meshObjects.line, got.meshObjects.r) } : { ok: true, value: apiserver },
        echoService: asGot('echoService', (j) => itemsOf(j)[0] ?? null),
        pools: asGot('pools', itemsOf),
        l2Policies: asGot('l2Policies', itemsOf),
        crds: asGot('crds', itemsOf),
        servicelb: asGot('servicelb', itemsOf),
        nodes: asGot('nodes', itemsOf),
      };
      return data;
    });

    /** @type {DiagnosisData} */
    const data = {
      failure: {
        step: failure.step, action: failure.action, message: failure.message,
        line: failure.tool?.line ?? '', stderr: failure.tool?.stderr ?? '', stdout: failure.tool?.stdout ?? '',
      },
      meshServiceType: config.meshServiceType,
      echo: { namespace: config.echo.namespace, name: config.echo.name },
      clusters,
    };
    const findings = diagnose(data);
    save('summary.txt', summaryText(config, failure, findings, missing, opts.now ?? new Date(), [...written, 'summary.txt']));
    return { dir, findings, missing };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Creates <base>/<UTC time> (0700), with -2, -3 … when a bundle of the same second exists.
 * @param {string} base @param {Date} now
 */
export function makeBundleDir(base, now) {
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const stamp = now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  for (let i = 1; ; i++) {
    const dir = join(base, i === 1 ? stamp : `${stamp}-${i}`);
    try {
      mkdirSync(dir, { mode: 0o700 });
      chmodSync(dir, 0o700);
      return dir;
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST' || i >= 100) throw err;
    }
  }
}

/** @param {FailureInfo} f */
function failureText(f) {
  const lines = [`step: ${f.step}`, `action: ${f.action}`, `error: ${f.message}`];
  if (f.tool) {
    lines.push(`command: ${f.tool.line}`, `exit code: ${f.tool.code ?? 'none'}`,
      '--- stderr', f.tool.stderr.replace(/\n$/, ''), '--- stdout', f.tool.stdout ? f.tool.stdout.replace(/\n$/, '') : '(not kept)');
  }
  return `${lines.join('\n')}\n`;
}

/**
 * @param {Config} config @param {FailureInfo} f @param {Finding[]} findings @param {string[]} missing
 * @param {Date} now @param {string[]} files
 */
function summaryText(config, f, findings, missing, now, files) {
  const lines = [
    `clustermesh-runbook diagnostics, ${now.toISOString()}`,
    '',
    `step ${f.step} failed: ${f.action}`,
    ...f.message.split('\n').map((l) => `  ${l}`),
    ...(f.tool ? [`  command: ${f.tool.line}`] : []),
    '',
    findings.length ? 'recognised:' : 'no known failure recognised',
    ...findings.flatMap((x) => x.hint.split('\n').map((h) => `  [${x.id}] ${h}`)),
    '',
    'settings:',
    ...config.clusters.map((c) => `  ${c.label}: context ${c.context}, cluster ${c.name} (id ${c.id}), ` +
      `${config.meshServiceType === 'NodePort' ? 'mesh on a NodePort' : `mesh IP ${c.meshIp}`}, ` +
      `app pool ${c.appPool.start}–${c.appPool.stop}`),
    `  ClusterMesh Service type ${config.meshServiceType}; echo ${config.echo.namespace}/${config.echo.name}; Cilium ${config.ciliumVersion}`,
    '',
    'files:',
    ...files.sort().map((x) => `  ${x}`),
  ];
  if (missing.length) lines.push('', 'not collected:', ...missing.map((m) => `  ${m}`));
  return `${lines.join('\n')}\n`;
}

/**
 * The bundle's folder as the user should type it: relative to the current
 * folder when inside it.
 * @param {string} dir
 */
export function shownPath(dir) {
  const rel = relative(process.cwd(), dir);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : dir;
}

// ---- the hook for runSteps / reportFailure -------------------------------------------

/** @type {WeakMap<object, BundleResult>} */
const bundles = new WeakMap();

/**
 * After a step failed in run mode: saves the bundle (unless interrupted or
 * turned off) and keeps its result for reportFailure.
 * @param {Config} config
 * @param {{ id: string, title: string }} step
 * @param {Error & { action: string, tool?: { line: string, code: number | null, stderr: string, stdout: string } }} err a StepFailure
 * @param {AbortSignal} [signal]
 */
export async function diagnoseFailure(config, step, err, signal) {
  // Interrupted: nothing to diagnose. Step 00 only merges local kubeconfig files
  // and promises not to contact a cluster.
  if (signal?.aborted || step.id === '00') return;
  try {
    const r = await saveDiagnostics(config, {
      step: `${step.id} ${step.title}`, action: err.action, message: String(err.message),
      tool: err.tool && { line: err.tool.line, code: err.tool.code, stderr: String(err.tool.stderr ?? ''), stdout: String(err.tool.stdout ?? '') },
    }, { signal });
    if (r) bundles.set(err, r);
  } catch (e) { // never in the way of the step's own error
    bundles.set(err, { error: e instanceof Error ? e.message : String(e) });
  }
}

/**
 * What reportFailure prints about the bundle of this failure: its folder and
 * the hints the step's own message does not already give.
 * @param {Error} err
 * @returns {string[]}
 */
export function diagnosticsLines(err) {
  const r = bundles.get(err);
  if (!r) return [];
  if ('error' in r) return [`\ndiagnostics not saved: ${r.error}`];
  return [`\ndiagnostics saved in ${shownPath(r.dir)} (start with summary.txt)`,
    ...r.findings.filter((f) => !err.message.includes(f.hint)).flatMap((f) => f.hint.split('\n').map((h) => `  known failure: ${h}`))];
}
