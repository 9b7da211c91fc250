// @ts-check
// What `npm run watch` knows about the two clusters, and the polls that keep it
// current. Read-only: kubectl get, cilium clustermesh status and HTTP GETs of the
// echo VIPs, nothing else. Each poll runs in a loop of its own and never
// overlaps itself, so every object is asked at most once per interval (a second
// or more). A poll that fails is kept as an error with the time it began to
// fail, and the loop carries on: a cluster that goes away shows as gone and
// comes back by itself.
import { getObjects, lbIp, daemonSetReady, deploymentReady } from '../probes.mjs';
import { meshStatus, peerConnection } from '../mesh.mjs';
import { fetchPage, pageOf, expectedPages } from '../http.mjs';
import { sleep, firstLine } from '../runtime.mjs';

/** @typedef {import('../types.js').Config} Config */
/** @typedef {import('../types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('../runtime.mjs').Runtime} Runtime */
/** @typedef {'a' | 'b'} Key */
/**
 * @template T
 * @typedef {{ at: number, value: T, error?: undefined } | { at: number, error: string, since: number, value?: undefined }} Seen
 *   at: when the poll ended (ms since the epoch); since: when the errors began
 */
/** @typedef {{ ready: number, want: number, ok: boolean } | null} Workload null: not there */
/** @typedef {{ cilium: Workload, operator: Workload, echo: Workload, service: boolean, vip: string }} Objects */
/** @typedef {{ state: 'off' } | { state: 'not ready', text: string } | { state: 'status', ok: boolean, text: string }} Mesh */
/**
 * @typedef {{ at: number, ms: number, cluster: Key | null, status: number, error?: string }} Answer
 *   at: when the request was sent; cluster: whose page answered (null: no known page)
 */

/** How often each poll runs at most (ms). Objects and VIPs: at most one request per object per second. */
export const INTERVALS = { vip: 1000, objects: 2000, mesh: 5000 };
/** Answers kept per VIP: the strip's minute. */
export const KEEP_MS = 60_000;

export class WatchState {
  /** @param {Config} config */
  constructor(config) {
    this.config = config;
    /** @type {Record<Key, { objects?: Seen<Objects>, mesh?: Seen<Mesh>, vip: string }>} */
    this.clusters = { a: { vip: '' }, b: { vip: '' } };
    /** @type {Record<Key, Answer[]>} */
    this.answers = { a: [], b: [] };
    /** Called after every poll (the live view redraws). */
    this.onChange = () => {};
  }

  /** @param {Key} k @returns {ClusterConfig} */
  cluster(k) {
    return k === 'a' ? this.config.a : this.config.b;
  }

  /** @param {Key} k */
  other(k) {
    return this.cluster(k === 'a' ? 'b' : 'a');
  }

  /**
   * Keeps a poll's outcome.
   * @template T
   * @param {Seen<T> | undefined} before
   * @param {() => Promise<T>} fn
   * @returns {Promise<Seen<T>>}
   */
  async seen(before, fn) {
    try {
      const value = await fn();
      return { at: Date.now(), value };
    } catch (err) {
      const error = firstLine(err instanceof Error ? err.message : String(err));
      return { at: Date.now(), error, since: before?.error !== undefined ? before.since : Date.now() };
    }
  }

  /** Cilium, its operator and the echo app of one cluster. @param {Runtime} rt @param {Key} k */
  async pollObjects(rt, k) {
    const c = this.cluster(k);
    const { namespace: ns, name } = this.config.echo;
    const view = this.clusters[k];
    view.objects = await this.seen(view.objects, async () => {
      const [sys, app] = await Promise.all([
        getObjects(rt, c, 'kube-system', ['ds/cilium', 'deploy/cilium-operator']),
        getObjects(rt, c, ns, [`deploy/${name}`, `svc/${name}`]),
      ]);
      const ds = sys.get('daemonset/cilium');
      const op = sys.get('deployment/cilium-operator');
      const echo = app.get(`deployment/${name}`);
      const svc = app.get(`service/${name}`);
      return {
        cilium: ds ? { ready: ds.status?.numberReady ?? 0, want: ds.status?.desiredNumberScheduled ?? 0, ok: daemonSetReady(ds) } : null,
        operator: op ? { ready: op.status?.readyReplicas ?? 0, want: op.spec?.replicas ?? 1, ok: deploymentReady(op) } : null,
        echo: echo ? {
          ready: echo.status?.readyReplicas ?? 0, want: echo.spec?.replicas ?? 1,
          ok: deploymentReady(echo) && (echo.spec?.replicas ?? 1) === this.config.echo.replicas,
        } : null,
        service: Boolean(svc),
        vip: lbIp(svc),
      };
    });
    // The last known VIP stays while its cluster cannot be asked: it may still answer.
    if (view.objects.value) view.vip = view.objects.value.vip;
    this.onChange();
  }

  /** The mesh as one cluster's `cilium clustermesh status` counts it. @param {Runtime} rt @param {Key} k */
  async pollMesh(rt, k) {
    const view = this.clusters[k];
    const peer = this.other(k).name;
    view.mesh = await this.seen(view.mesh, async () => {
      const s = await meshStatus(rt, this.cluster(k));
      if (!s) return /** @type {Mesh} */ ({ state: 'off' });
      if (s.notReady) return /** @type {Mesh} */ ({ state: 'not ready', text: s.notReady });
      const p = peerConnection(s, peer);
      return /** @type {Mesh} */ ({ state: 'status', ok: p.connected, text: p.detail });
    });
    this.onChange();
  }

  /** One request to a cluster's echo VIP, when it has one. @param {Key} k */
  async pollVip(k) {
    const ip = this.clusters[k].vip;
    if (!ip) return;
    const at = Date.now();
    const started = performance.now();
    const page = await fetchPage(ip, this.config.echo.servicePort, this.config.timeouts.http);
    const ms = Math.round(performance.now() - started);
    const shown = page.ok ? pageOf(this.config, page.body) : '';
    const cluster = this.config.clusters.find((c) => c.echoPage === shown)?.key ?? null;
    const list = this.answers[k];
    list.push(page.ok ? { at, ms, cluster, status: page.status } : { at, ms, cluster: null, status: 0, error: page.error });
    while (list.length && list[0].at < Date.now() - KEEP_MS) list.shift();
    this.onChange();
  }

  /** Every poll once: objects and mesh, then the VIPs the objects name. @param {Runtime} rt */
  async pollOnce(rt) {
    const keys = /** @type {Key[]} */ (['a', 'b']);
    await Promise.all(keys.flatMap((k) => [this.pollObjects(rt, k), this.pollMesh(rt, k)]));
    await Promise.all(keys.map((k) => this.pollVip(k)));
  }

  /**
   * Every poll in its own loop until the signal aborts. Returns when all stopped.
   * @param {Runtime} rt
   * @param {AbortSignal} signal
   */
  run(rt, signal) {
    /** @param {number} ms @param {() => Promise<void>} fn */
    const every = async (ms, fn) => {
      while (!signal.aborted) {
        const start = Date.now();
        await fn().catch(() => {}); // a poll keeps its own errors; one cut short by the abort ends here
        await sleep(Math.max(0, ms - (Date.now() - start)), signal).catch(() => {});
      }
    };
    const keys = /** @type {Key[]} */ (['a', 'b']);
    return Promise.all(keys.flatMap((k) => [
      every(INTERVALS.objects, () => this.pollObjects(rt, k)),
      every(INTERVALS.mesh, () => this.pollMesh(rt, k)),
      every(INTERVALS.vip, () => this.pollVip(k)),
    ]));
  }

  /**
   * What is not up, in words, one entry per cluster ([] when everything is):
   * Cilium, its operator, the mesh to the other cluster, the echo pods, and an
   * answer from the cluster's VIP with the page it should show.
   * @returns {string[]}
   */
  problems() {
    return /** @type {Key[]} */ (['a', 'b']).map((k) => {
      const c = this.cluster(k);
      const missing = this.missing(k);
      return missing.length ? `${c.context}: ${missing.join(', ')}` : '';
    }).filter(Boolean);
  }

  /** What is not up on one cluster. @param {Key} k @returns {string[]} */
  missing(k) {
    /** @type {string[]} */
    const out = [];
    const { objects, mesh, vip } = this.clusters[k];
    if (!objects) out.push('not asked yet');
    else if (objects.error !== undefined) out.push('cannot be asked');
    else {
      const o = objects.value;
      /** @type {[string, Workload, number][]} */
      const parts = [['cilium', o.cilium, o.cilium?.want ?? 0], ['cilium-operator', o.operator, o.operator?.want ?? 0],
        ['echo pods', o.echo, this.config.echo.replicas]];
      for (const [what, w, want] of parts) {
        if (!w) out.push(`no ${what}`);
        else if (!w.ok) out.push(`${what} ${w.ready}/${want} ready`);
      }
    }
    if (!mesh || mesh.error !== undefined) out.push('mesh unknown');
    else if (mesh.value.state === 'off') out.push('ClusterMesh not enabled');
    else if (mesh.value.state === 'not ready' || !mesh.value.ok) out.push('mesh not connected');
    const last = this.answers[k].at(-1);
    if (!vip) out.push('no echo VIP');
    else if (!last || last.cluster === null) out.push('VIP shows no echo page');
    else if (!expectedPages(this.config, this.cluster(k)).includes(this.cluster(last.cluster).echoPage)) {
      out.push(`VIP answered by ${this.cluster(last.cluster).context}`);
    }
    return out;
  }
}
