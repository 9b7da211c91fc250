// @ts-check
// `cilium status`: cilium-cli's status/k8s.go collector and status/status.go
// formatting (tabwriter layout, ANSI colours even when piped, JSON field names
// and Go's omitempty rules), --wait polling every 2s until no errors (and no
// warnings unless --ignore-warnings) or the deadline. Like the real CLI it execs
// `cilium status -o json` and `cilium endpoint list -o json` in every running
// cilium-agent container (through the API server; the twin's agent model
// answers) and turns failing subsystems, failing controllers and endpoints not
// ready into errors and warnings.
import { Fatal, Returned } from './cli.mjs';
import { KubeError, isNotFound, sleep } from './kube.mjs';
import { podsFor } from './pods.mjs';
import { tabwrite } from './tabwriter.mjs';
import { agentStatuses } from './agent-status.mjs';
import { ReleaseStore } from './helm.mjs';

/** @typedef {import('./cli.mjs').Ctx} Ctx */
/** @typedef {import('./kube.mjs').Kube} Kube */

export const RED = '\x1b[31m';
export const YELLOW = '\x1b[33m';
export const BLUE = '\x1b[34m';
export const GREEN = '\x1b[32m';
export const MAGENTA = '\x1b[35m';
export const CYAN = '\x1b[36m';
export const RESET = '\x1b[0m';

/** Retry interval of --wait loops (cilium-cli defaults.WaitRetryInterval = 2s). */
export const RETRY_MS = Number(process.env.TWIN_CILIUM_RETRY_MS) || 2000;

/** @typedef {{ Errors: string[], Warnings: string[], Disabled: boolean }} ErrorCount */
/** @typedef {{ Type: string, Desired: number, Ready: number, Available: number, Unavailable: number }} PodStateCount */

export class Status {
  constructor() {
    /** @type {Record<string, Record<string, number>>} */
    this.imageCount = {};
    /** @type {Record<string, Record<string, number>>} */
    this.phaseCount = {};
    /** @type {Record<string, PodStateCount>} */
    this.podState = {};
    this.podsCount = { all: 0, by_cilium: 0 };
    /** @type {Record<string, any>} */
    this.ciliumStatus = {};
    /** @type {Record<string, any>} */
    this.ciliumEndpoints = {};
    /** @type {Record<string, Record<string, ErrorCount>>} */
    this.errors = {};
    /** @type {Array<{ message: string, json: any }>} */
    this.collectionErrors = [];
    this.helmChartVersion = '';
    /** @type {string[]} */
    this.configErrors = [];
    /** An agent container is in a terminal state: `--wait` stops (the CLI cancels its context). */
    this.agentTerminated = false;
  }

  /** @param {string} d @param {string} p */
  agg(d, p) {
    const m = (this.errors[d] ??= {});
    return (m[p] ??= { Errors: [], Warnings: [], Disabled: false });
  }
  /** @param {string} d @param {string} p @param {string} e */
  addError(d, p, e) { this.agg(d, p).Errors.push(e); }
  /** @param {string} d @param {string} p @param {string} w */
  addWarning(d, p, w) { this.agg(d, p).Warnings.push(w); }
  /**
   * Records a collection error; JSON as Go marshals the error value (a *StatusError
   * keeps its ErrStatus, wrapped errors have no exported fields).
   * @param {unknown} e
   */
  collectionError(e) {
    const message = /** @type {Error} */ (e).message;
    const json = e instanceof KubeError && e.code
      ? { ErrStatus: { metadata: {}, status: 'Failure', message, reason: e.reason || undefined, code: e.code } }
      : {};
    this.collectionErrors.push({ message, json });
  }

  /** @param {string} d @param {string} p @param {boolean} v */
  setDisabled(d, p, v) { this.agg(d, p).Disabled = v; }

  totalErrors() { return Object.values(this.errors).flatMap((m) => Object.values(m)).reduce((n, c) => n + c.Errors.length, 0); }
  totalWarnings() { return Object.values(this.errors).flatMap((m) => Object.values(m)).reduce((n, c) => n + c.Warnings.length, 0); }

  /** @param {string} name */
  summary(name) {
    const a = this.errors[name];
    let text = '';
    if (a) {
      let errors = 0; let warnings = 0; let disabled = false;
      for (const c of Object.values(a)) { errors += c.Errors.length; warnings += c.Warnings.length; if (c.Disabled) disabled = true; }
      const parts = [];
      if (errors > 0) parts.push(`${RED}${errors} errors${RESET}`);
      if (warnings > 0) parts.push(`${YELLOW}${warnings} warnings${RESET}`);
      if (disabled) parts.push(`${CYAN}disabled${RESET}`);
      text = parts.join(', ');
    }
    return text || `${GREEN}OK${RESET}`;
  }

  /** status.Format(): the summary block. */
  format() {
    const sorted = (/** @type {object} */ o) => Object.keys(o).sort();
    let b = '';
    const envoy = this.summary('cilium-envoy').replace('disabled', 'disabled (using embedded mode)');
    b += `${YELLOW}    /¯¯\\\n`;
    b += `${CYAN} /¯¯${YELLOW}\\__/${GREEN}¯¯\\${RESET}\tCilium:\t${this.summary('cilium')}\n`;
    b += `${CYAN} \\__${RED}/¯¯\\${GREEN}__/${RESET}\tOperator:\t${this.summary('cilium-operator')}\n`;
    b += `${GREEN} /¯¯${RED}\\__/${MAGENTA}¯¯\\${RESET}\tEnvoy DaemonSet:\t${envoy}\n`;
    b += `${GREEN} \\__${BLUE}/¯¯\\${MAGENTA}__/${RESET}\tHubble Relay:\t${this.summary('hubble-relay')}\n`;
    b += `${BLUE}${BLUE}${BLUE}    \\__/${RESET}\tClusterMesh:\t${this.summary('clustermesh-apiserver')}\n`;
    b += '\n';
    for (const name of sorted(this.podState)) {
      const ps = this.podState[name];
      b += `${ps.Type}\t${name}\t${formatPodState(ps)}\n`;
    }
    let header = 'Containers:';
    for (const name of sorted(this.phaseCount)) {
      b += `${header}\t${name}\t${formatPhaseCount(this.phaseCount[name])}\n`;
      header = '';
    }
    b += `Cluster Pods:\t${this.podsCount.by_cilium}/${this.podsCount.all} managed by Cilium\n`;
    b += `Helm chart version:\t${this.helmChartVersion}\n`;
    header = 'Image versions';
    for (const name of sorted(this.imageCount)) {
      for (const image of sorted(this.imageCount[name])) {
        b += `${header}\t${name}\t${image}: ${this.imageCount[name][image]}\n`;
        header = '';
      }
    }
    for (const [title, key] of /** @type {const} */ ([['Errors:', 'Errors'], ['Warnings:', 'Warnings']])) {
      header = title;
      for (const d of sorted(this.errors)) {
        for (const p of sorted(this.errors[d])) {
          for (const e of this.errors[d][p][key]) {
            b += `${header}\t${d}\t${p}\t${e}\n`;
            header = '';
          }
        }
      }
    }
    header = 'Configuration:';
    for (const msg of this.configErrors) {
      for (const line of msg.split('\n')) { b += `${header}\t \t${line}\n`; header = ''; }
    }
    return tabwrite(b);
  }

  /** JSON as json.MarshalIndent(s, "", " ") writes it. */
  toJSON() {
    /** @type {Record<string, any>} */
    const o = {};
    const nonEmpty = (/** @type {object} */ m) => Object.keys(m).length > 0;
    const sortObj = (/** @type {Record<string, any>} */ m) => Object.fromEntries(Object.keys(m).sort().map((k) => [k, m[k]]));
    if (nonEmpty(this.imageCount)) o.image_count = sortObj(Object.fromEntries(Object.entries(this.imageCount).map(([k, v]) => [k, sortObj(v)])));
    if (nonEmpty(this.phaseCount)) o.phase_count = sortObj(Object.fromEntries(Object.entries(this.phaseCount).map(([k, v]) => [k, sortObj(v)])));
    if (nonEmpty(this.podState)) o.pod_state = sortObj(this.podState);
    o.pods_count = this.podsCount;
    if (nonEmpty(this.ciliumStatus)) o.cilium_status = sortObj(this.ciliumStatus);
    if (nonEmpty(this.ciliumEndpoints)) o.cilium_endpoints = sortObj(this.ciliumEndpoints);
    if (nonEmpty(this.errors)) o.errors = sortObj(Object.fromEntries(Object.entries(this.errors).map(([k, v]) => [k, sortObj(v)])));
    if (this.collectionErrors.length) o.collection_errors = this.collectionErrors.map((c) => c.json);
    if (this.helmChartVersion) o.helm_chart_version = this.helmChartVersion;
    if (this.configErrors.length) o.config_errors = this.configErrors;
    return o;
  }
}

/** Go's json.Marshal escaping of <, >, & on top of JSON.stringify. @param {any} v @param {string} indent */
export function goJson(v, indent) {
  return JSON.stringify(v, null, indent).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** @param {Record<string, number>} m */
function formatPhaseCount(m) {
  return Object.keys(m).sort().map((phase) => {
    const color = phase === 'Failed' || phase === 'Unknown' ? RED : ['Running', 'Pending', 'Succeeded'].includes(phase) ? GREEN : '';
    return `${phase}: ${color}${m[phase]}${RESET}`;
  }).join(', ');
}

/** @param {PodStateCount} c */
function formatPodState(c) {
  const items = [];
  if (c.Desired > 0) items.push(`Desired: ${c.Desired}`);
  if (c.Ready > 0) items.push(`Ready: ${c.Ready < c.Desired ? YELLOW : GREEN}${c.Ready}/${c.Desired}${RESET}`);
  if (c.Available > 0) items.push(`Available: ${c.Ready < c.Desired ? YELLOW : GREEN}${c.Available}/${c.Desired}${RESET}`);
  if (c.Unavailable > 0) items.push(`Unavailable: ${RED}${c.Unavailable}/${c.Desired}${RESET}`);
  return items.join(', ');
}

/**
 * @param {Kube} kube @param {string} kind @param {string} ns @param {string} name
 * @returns {Promise<{ obj: any, err: KubeError | null }>}
 */
async function tryGet(kube, kind, ns, name) {
  try { return { obj: await kube.get(kind, ns, name), err: null }; } catch (e) {
    if (e instanceof KubeError) return { obj: null, err: e };
    throw e;
  }
}

/**
 * One pass of the collector (K8sStatusCollector.status).
 * @param {Kube} kube @param {string} ns @param {string} release
 */
export async function collectStatus(kube, ns, release) {
  const s = new Status();

  /** @param {string} name @returns {Promise<{ disabled: boolean, err: KubeError | null, obj: any }>} */
  const daemonSetStatus = async (name) => {
    const { obj, err } = await tryGet(kube, 'DaemonSet', ns, name);
    if (err) return { disabled: isNotFound(err), err, obj: null };
    const st = obj.status ?? {};
    const c = { Type: 'DaemonSet', Desired: st.desiredNumberScheduled ?? 0, Ready: st.numberReady ?? 0, Available: st.numberAvailable ?? 0, Unavailable: st.numberUnavailable ?? 0 };
    s.podState[name] = c;
    const notReady = c.Desired - c.Ready;
    if (notReady > 0) s.addError(name, name, `${notReady} pods of DaemonSet ${name} are not ready`);
    if (c.Unavailable - notReady > 0) s.addWarning(name, name, `${c.Unavailable - notReady} pods of DaemonSet ${name} are not available`);
    if ((obj.metadata.generation ?? 0) !== (st.observedGeneration ?? 0)) s.addError(name, name, `daemonset ${name} is updated but rollout has not started`);
    if ((st.updatedNumberScheduled ?? 0) < c.Desired) s.addError(name, name, `daemonset ${name} is rolling out - ${st.updatedNumberScheduled ?? 0} out of ${c.Desired} pods updated`);
    return { disabled: false, err: null, obj };
  };

  /** @param {string} name @returns {Promise<{ disabled: boolean, err: KubeError | null, obj: any }>} */
  const deploymentStatus = async (name) => {
    const { obj, err } = await tryGet(kube, 'Deployment', ns, name);
    if (err && isNotFound(err)) return { disabled: true, err: null, obj: null };
    if (err) return { disabled: false, err, obj: null };
    const st = obj.status ?? {};
    const c = { Type: 'Deployment', Desired: st.replicas ?? 0, Ready: st.readyReplicas ?? 0, Available: st.availableReplicas ?? 0, Unavailable: st.unavailableReplicas ?? 0 };
    s.podState[name] = c;
    const notReady = c.Desired - c.Ready;
    if (notReady > 0) s.addError(name, name, `${notReady} pods of Deployment ${name} are not ready`);
    if (c.Unavailable - notReady > 0) s.addWarning(name, name, `${c.Unavailable - notReady} pods of Deployment ${name} are not available`);
    if ((obj.metadata.generation ?? 0) !== (st.observedGeneration ?? 0)) s.addError(name, name, `deployment ${name} is updated but rollout has not started`);
    if ((st.updatedReplicas ?? 0) < (st.replicas ?? 0)) s.addError(name, name, `deployment ${name} is rolling out - ${st.updatedReplicas ?? 0} out of ${st.replicas ?? 0} pods updated`);
    return { disabled: false, err: null, obj };
  };

  /**
   * @param {string} name @param {string} selector @param {any} workload @param {string} container
   * @param {((p: import('./pods.mjs').PodView) => void) | null} cb
   */
  const podStatus = async (name, selector, workload, container, cb) => {
    const pods = await podsFor(kube, ns, selector, workload, container);
    /** @type {Record<string, number>} */
    const phases = {};
    /** @type {Record<string, number>} */
    const images = {};
    for (const p of pods) {
      phases[p.phase] = (phases[p.phase] ?? 0) + 1;
      if (p.phase === 'Pending') s.addWarning(name, p.name, 'pod is pending');
      if (p.phase === 'Failed') s.addError(name, p.name, 'pod has failed:  - ');
      for (const i of p.images) images[i] = (images[i] ?? 0) + 1;
      if (cb) cb(p);
    }
    s.phaseCount[name] = phases;
    s.imageCount[name] = images;
  };

  /** @param {() => Promise<void>} fn */
  const collecting = async (fn) => {
    try { await fn(); } catch (e) { s.collectionError(e); }
  };

  // Synchronous pod listings of the collector (agents, operator, relay, clustermesh-apiserver).
  const agentDs = await tryGet(kube, 'DaemonSet', ns, 'cilium');
  /** @type {string[]} */
  const runningAgents = [];
  await collecting(() => podStatus('cilium', 'k8s-app=cilium', agentDs.obj, 'cilium-agent', (p) => {
    if (p.phase !== 'Running') return;
    if (p.running) { runningAgents.push(p.name); return; }
    let desc = 'is not running';
    let lastLog = `try 'kubectl -n ${ns} logs -c cilium-agent ${p.name}'`;
    if (p.waiting === 'CrashLoopBackOff') { desc = 'is in CrashLoopBackOff'; s.agentTerminated = true; }
    if (p.lastTerminated) {
      desc = `${desc}, exited with code ${p.lastTerminated.exitCode}`;
      if (p.lastTerminated.message) lastLog = p.lastTerminated.message.trim();
    }
    s.addError('cilium', p.name, `unable to retrieve cilium status: container cilium-agent ${desc}: ${lastLog}`);
    s.ciliumStatus[p.name] = null;
    s.ciliumEndpoints[p.name] = null;
  }));
  const op = await tryGet(kube, 'Deployment', ns, 'cilium-operator');
  await collecting(() => podStatus('cilium-operator', 'io.cilium/app=operator', op.obj, 'cilium-operator', null));
  const relay = await tryGet(kube, 'Deployment', ns, 'hubble-relay');
  await collecting(() => podStatus('hubble-relay', 'app.kubernetes.io/name=hubble-relay', relay.obj, 'hubble-relay', null));
  const cm = await tryGet(kube, 'Deployment', ns, 'clustermesh-apiserver');
  await collecting(() => podStatus('clustermesh-apiserver', 'k8s-app=clustermesh-apiserver', cm.obj, 'apiserver', null));

  // Tasks.
  {
    const r = await daemonSetStatus('cilium');
    if (r.err) { s.addError('cilium', 'cilium', r.err.message); s.collectionError(r.err); }
  }
  {
    const r = await daemonSetStatus('cilium-envoy');
    if (r.disabled) s.setDisabled('cilium-envoy', 'cilium-envoy', true);
    else {
      if (r.err) { s.addError('cilium-envoy', 'cilium-envoy', r.err.message); s.collectionError(r.err); }
      await collecting(() => podStatus('cilium-envoy', 'name=cilium-envoy', r.obj, 'cilium-envoy', null));
    }
  }
  {
    const r = await deploymentStatus('cilium-operator');
    s.setDisabled('cilium-operator', 'cilium-operator', r.disabled);
    if (r.err) { s.addError('cilium-operator', 'cilium-operator', r.err.message); s.collectionError(r.err); }
    await collecting(() => podStatus('cilium-operator', 'name=cilium-operator', r.obj, 'cilium-operator', null));
  }
  for (const [name, selector, container, what] of [
    ['hubble-relay', 'k8s-app=hubble-relay', 'hubble-relay', 'hubble relay'],
    ['hubble-ui', 'k8s-app=hubble-ui', 'frontend', 'hubble ui'],
    ['clustermesh-apiserver', 'k8s-app=clustermesh-apiserver', 'apiserver', 'clustermesh'],
  ]) {
    const r = await deploymentStatus(name);
    s.setDisabled(name, name, r.disabled);
    if (r.err) {
      if (!(name in s.podState)) s.addWarning(name, name, `${what} is not deployed`);
      else { s.addError(name, name, r.err.message); s.collectionError(r.err); }
    }
    if (name in s.podState) await collecting(() => podStatus(name, selector, r.obj, container, null));
  }
  await collecting(async () => {
    let all = 0;
    for (const p of await kube.list('Pod', '')) {
      if (!p.spec?.hostNetwork && (p.status?.phase === 'Running' || p.status?.phase === 'Pending')) all++;
    }
    // Managed by Cilium: the CiliumEndpoints the API has (none until the CRD is served), as the CLI counts.
    let byCilium = 0;
    try { byCilium = (await kube.list('CiliumEndpoint', '')).length; } catch (e) { if (!(e instanceof KubeError && e.code === 404)) throw e; }
    s.podsCount = { all, by_cilium: byCilium };
  });
  await collecting(async () => {
    let cmap;
    try { cmap = await kube.get('ConfigMap', ns, 'cilium-config'); } catch (e) {
      throw new Error(`unable to retrieve ConfigMap "cilium-config": ${/** @type {Error} */ (e).message}`);
    }
    for (const [k, v] of Object.entries(cmap.metadata.annotations ?? {})) if (k.startsWith('config.cilium.io')) s.configErrors.push(String(v));
    s.configErrors.sort();
  });
  try {
    const rel = await new ReleaseStore(kube, ns).last(release);
    s.helmChartVersion = String(rel.chart?.metadata?.version ?? '');
  } catch { /* the worker pool drops task errors */ }
  await agentStatuses(kube, ns, s, runningAgents);
  return s;
}

/** @param {string} text */
function countWrappedLines(text) {
  const width = process.stdout.columns || 80;
  let lines = 1;
  for (const line of text.split('\n')) lines += Math.ceil([...line].length / width);
  return lines;
}

/** @param {Ctx} ctx */
export async function cmdStatus(ctx) {
  const kube = await ctx.client();
  const wait = ctx.flag('--wait');
  const output = ctx.flag('--output');
  const timeout = ctx.flag('--wait-duration') || 5 * 60_000;
  const deadline = Date.now() + timeout;
  /** @type {Status | null} */
  let recent = null;
  let lines = 0;
  const cursorUp = (/** @type {number} */ n) => { if (n > 0) process.stdout.write('\x1b[A\x1b[2K'.repeat(n)); };
  let canceled = false;
  for (;;) {
    if (canceled) {
      process.stderr.write(recent ? recent.format() : '');
      throw new Fatal('Unable to determine status:  wait canceled, cilium agent container has crashed or was terminated: context canceled');
    }
    if (Date.now() >= deadline) {
      process.stderr.write(recent ? recent.format() : '');
      throw new Fatal('Unable to determine status:  timeout while waiting for status to become successful: context deadline exceeded');
    }
    const s = await collectStatus(kube, ctx.namespace, ctx.release);
    recent = s;
    if (s.agentTerminated) canceled = true;
    const ready = s.totalErrors() === 0 && (ctx.flag('--ignore-warnings') || s.totalWarnings() === 0);
    if (!ready && wait) {
      await sleep(RETRY_MS);
      if (output === 'summary' && ctx.flag('--interactive')) {
        const text = s.format();
        cursorUp(lines);
        lines = countWrappedLines(text);
        process.stdout.write(text);
      }
      continue;
    }
    cursorUp(lines);
    break;
  }
  const s = /** @type {Status} */ (recent);
  if (output === 'json') ctx.out(goJson(s.toJSON(), ' '));
  else process.stdout.write(s.format());
  if (s.collectionErrors.length > 0) throw new Returned(`status check failed: [${s.collectionErrors.map((c) => c.message).join(', ')}]`);
}
