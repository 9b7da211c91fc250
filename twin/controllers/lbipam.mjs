// @ts-check
// LB-IPAM, the part of cilium-operator that gives LoadBalancer Services their
// IPs from CiliumLoadBalancerIPPools (operator/pkg/lbipam in Cilium). Runs only
// while Deployment kube-system/cilium-operator has a ready replica: without it
// LoadBalancer Services stay <pending>. Follows the real controller:
// - responsible for type LoadBalancer with no loadBalancerClass (LB-IPAM is the
//   default IPAM) or class io.cilium/l2-announcer | io.cilium/bgp-control-plane;
// - a pool serves a Service when it is enabled, not conflicting and its
//   serviceSelector matches the Service's labels plus the virtual labels
//   io.kubernetes.service.namespace / io.kubernetes.service.name (no selector:
//   every Service);
// - specific IPs from spec.loadBalancerIP and annotation lbipam.cilium.io/ips
//   (alias io.cilium/lb-ipam-ips), comma separated;
// - blocks are a cidr or start[/stop]; first and last IP of a cidr are only
//   reserved with allowFirstLastIPs: "No" (Yes or unset: allocatable — the
//   1.16+ behaviour), never for ranges of two IPs or fewer;
// - the next free IP is the first of the smallest free block of the first
//   matching range (pkg/ipalloc), which is the lowest free IP in a fresh range;
// - a pool overlapping an older one (creationTimestamp, then first seen, then
//   name) is marked cilium.io/PoolConflict and allocates nothing;
// - pools report cilium.io/IPsTotal, IPsAvailable, IPsUsed (counts as messages,
//   reserved first/last IPs count as used) and Services get
//   cilium.io/IPAMRequestSatisfied.
// Assignments happen `lbAssignMs` after a change.
import {
  Debouncer, KUBE_SYSTEM, deploymentHasReadyReplica, findCondition, ipToNum, numToIp, parseCidr,
  selectorMatches, serviceSelectorLabels, setCondition,
} from './util.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('../store/types.js').StoreEvent} StoreEvent */
/** @typedef {import('../types.js').Twin} Twin */
/** @typedef {import('../types.js').TwinCluster} TwinCluster */

export const POOLS = 'cilium.io/ciliumloadbalancerippools';
const SVCS = '/services';
export const LB_CLASSES = ['io.cilium/l2-announcer', 'io.cilium/bgp-control-plane'];
export const SVC_SATISFIED = 'cilium.io/IPAMRequestSatisfied';
export const POOL_CONFLICT = 'cilium.io/PoolConflict';

/** @param {Twin} twin */
export function startLbIpam(twin) {
  const parts = Object.values(twin.clusters).map((c) => new ClusterLbIpam(twin, c));
  return { stop() { for (const p of parts) p.stop(); } };
}

/**
 * Whether Cilium's LB-IPAM handles this Service. With K3s's ServiceLB running,
 * class-less Services are taken by svclb first (see servicelb.mjs).
 * @param {KubeObject} svc @param {boolean} servicelb
 */
export function lbIpamResponsible(svc, servicelb) {
  if (svc.spec?.type !== 'LoadBalancer') return false;
  const cls = svc.spec?.loadBalancerClass;
  if (cls === undefined || cls === null || cls === '') return !servicelb;
  return LB_CLASSES.includes(cls);
}

/** @param {KubeObject} svc @returns {number[]} */
function requestedIps(svc) {
  const out = [];
  const lbIp = svc.spec?.loadBalancerIP;
  if (lbIp) {
    const n = ipToNum(lbIp);
    if (n !== undefined) out.push(n);
  }
  const ann = svc.metadata.annotations ?? {};
  const value = ann['lbipam.cilium.io/ips'] || ann['io.cilium/lb-ipam-ips'] || '';
  for (const part of String(value).split(',')) {
    const n = ipToNum(part.trim());
    if (n !== undefined) out.push(n);
  }
  return [...new Set(out)];
}

/**
 * @typedef {{ pool: string, from: number, to: number, reserved: number[], disabled: boolean }} Range
 * @typedef {{ ip: number, pool: string }} Alloc
 */

class ClusterLbIpam {
  /** @param {Twin} twin @param {TwinCluster} cluster */
  constructor(twin, cluster) {
    this.twin = twin;
    this.cluster = cluster;
    this.store = cluster.store;
    /** @type {Map<string, Alloc[]>} "ns/name" -> allocations, the operator's memory */
    this.allocs = new Map();
    /** @type {Map<string, number>} first-seen order, a tie-break for equal timestamps */
    this.seen = new Map();
    this.seq = 0;
    this.running = false;
    this.debouncer = new Debouncer(() => this.pass(), () => this.twin.options.delays.lbAssignMs);
    /** @param {StoreEvent} ev */
    this.onEvent = (ev) => {
      const r = ev.resource;
      if (r === SVCS || r === POOLS) {
        this.note(r, ev.object);
        this.debouncer.kick();
      } else if (r === 'apps/deployments' && ev.object.metadata.namespace === KUBE_SYSTEM &&
        ev.object.metadata.name === 'cilium-operator') {
        this.debouncer.kick();
      }
    };
    this.store.on('event', this.onEvent);
    for (const p of this.store.list(POOLS)) this.note(POOLS, p);
    for (const s of this.store.list(SVCS)) this.note(SVCS, s);
    this.debouncer.kick();
  }

  stop() {
    this.store.off('event', this.onEvent);
    this.debouncer.stop();
  }

  /** @param {string} resource @param {KubeObject} o */
  note(resource, o) {
    const k = `${resource}|${o.metadata.namespace ?? ''}/${o.metadata.name}|${o.metadata.uid}`;
    if (!this.seen.has(k)) this.seen.set(k, ++this.seq);
  }

  /** @param {string} resource @param {KubeObject} o */
  order(resource, o) {
    return this.seen.get(`${resource}|${o.metadata.namespace ?? ''}/${o.metadata.name}|${o.metadata.uid}`) ?? Number.MAX_SAFE_INTEGER;
  }

  /** Older first: creationTimestamp, then first seen, then name. @param {string} resource @param {KubeObject} a @param {KubeObject} b */
  compare(resource, a, b) {
    return String(a.metadata.creationTimestamp ?? '').localeCompare(String(b.metadata.creationTimestamp ?? '')) ||
      this.order(resource, a) - this.order(resource, b) ||
      a.metadata.name.localeCompare(b.metadata.name);
  }

  pass() {
    if (!deploymentHasReadyReplica(this.store, KUBE_SYSTEM, 'cilium-operator')) {
      // The operator is down: nothing is assigned; a restarted one rebuilds its
      // memory from the Services' current ingress.
      this.running = false;
      this.allocs.clear();
      return;
    }
    this.running = true;
    const servicelb = this.twin.options.servicelb === true;

    const pools = this.store.list(POOLS).sort((a, b) => this.compare(POOLS, a, b));
    /** @type {Map<string, KubeObject>} */
    const poolByName = new Map(pools.map((p) => [p.metadata.name, p]));
    /** @type {Map<string, Range[]>} */
    const rangesOf = new Map();
    for (const p of pools) rangesOf.set(p.metadata.name, buildRanges(p));

    const conflicts = this.settleConflicts(pools, rangesOf);
    for (const p of pools) {
      const conflicting = conflicts.get(p.metadata.name)?.conflicting ?? false;
      for (const r of rangesOf.get(p.metadata.name) ?? []) r.disabled = conflicting || p.spec?.disabled === true;
    }
    const allRanges = pools.flatMap((p) => rangesOf.get(p.metadata.name) ?? []);

    const services = this.store.list(SVCS);
    const byKey = new Map(services.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));

    // Forget Services that are gone; release Services no longer ours.
    for (const key of [...this.allocs.keys()]) {
      const svc = byKey.get(key);
      if (!svc) { this.allocs.delete(key); continue; }
      if (!lbIpamResponsible(svc, servicelb)) {
        this.allocs.delete(key);
        this.writeService(svc, (st) => {
          st.loadBalancer = {};
          st.conditions = (st.conditions ?? []).filter((/** @type {any} */ c) => c.type !== SVC_SATISFIED);
          if (!st.conditions.length) delete st.conditions;
        });
      }
    }

    const ours = services.filter((s) => lbIpamResponsible(s, servicelb));
    if (pools.length === 0) {
      // Dormant, as LB-IPAM is without pools; only the removal of the last pool
      // takes IPs away.
      for (const svc of ours) {
        const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
        if (!this.allocs.has(key)) continue;
        this.allocs.delete(key);
        this.writeService(svc, (st) => {
          st.loadBalancer = {};
          st.conditions = svcCondition(st.conditions, svc, false, 'no_pool',
            'There are no enabled CiliumLoadBalancerIPPools that match this service');
        });
      }
      this.writePoolCounts(pools, rangesOf, conflicts);
      return;
    }

    // Strip allocations that are no longer valid.
    for (const svc of ours) {
      const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
      const list = this.allocs.get(key);
      if (!list) continue;
      const labels = serviceSelectorLabels(svc);
      const req = requestedIps(svc);
      this.allocs.set(key, list.filter((a) => {
        const pool = poolByName.get(a.pool);
        if (!pool) return false;
        if (!(rangesOf.get(a.pool) ?? []).some((r) => a.ip >= r.from && a.ip <= r.to)) return false;
        if (pool.spec?.serviceSelector && !selectorMatches(pool.spec.serviceSelector, labels)) return false;
        if (req.length && !req.includes(a.ip)) return false;
        return true;
      }));
    }

    /** @type {Map<number, string>} ip -> owner */
    const used = new Map();
    for (const [key, list] of this.allocs) for (const a of list) used.set(a.ip, key);

    /** @param {KubeObject} svc @param {number} ip */
    const findRange = (svc, ip) => {
      let foundPool = false;
      const labels = serviceSelectorLabels(svc);
      for (const r of allRanges) {
        if (r.disabled || ip < r.from || ip > r.to) continue;
        const pool = poolByName.get(r.pool);
        if (!pool) continue;
        foundPool = true;
        if (pool.spec?.serviceSelector && !selectorMatches(pool.spec.serviceSelector, labels)) continue;
        return { range: r, foundPool: false };
      }
      return { range: undefined, foundPool };
    };

    const satisfiedFirst = [...ours].sort((a, b) => {
      const ka = this.allocs.has(`${a.metadata.namespace}/${a.metadata.name}`) ? 0 : 1;
      const kb = this.allocs.has(`${b.metadata.namespace}/${b.metadata.name}`) ? 0 : 1;
      return ka - kb || this.compare(SVCS, a, b);
    });

    // First keep the ingresses we allocated and adopt those we can (an operator
    // restarting finds its IPs in the Services), so that no new allocation
    // takes an IP a Service already shows; drop the rest.
    /** @type {Map<string, { list: Alloc[], kept: any[] }>} */
    const adopted = new Map();
    for (const svc of satisfiedFirst) {
      const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
      /** @type {Alloc[]} */
      const list = [...(this.allocs.get(key) ?? [])];
      const req = requestedIps(svc);
      const kept = [];
      for (const ing of /** @type {any[]} */ (svc.status?.loadBalancer?.ingress ?? [])) {
        const ip = ipToNum(ing?.ip ?? '');
        if (ip === undefined) continue;
        if (list.some((a) => a.ip === ip)) { kept.push(ing); continue; }
        if (req.length && !req.includes(ip)) continue;
        const { range } = findRange(svc, ip);
        if (!range || used.has(ip) || range.reserved.includes(ip)) continue;
        list.push({ ip, pool: range.pool });
        used.set(ip, key);
        kept.push(ing);
      }
      adopted.set(key, { list, kept });
    }

    for (const svc of satisfiedFirst) {
      const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
      const { list, kept } = /** @type {{ list: Alloc[], kept: any[] }} */ (adopted.get(key));
      const req = requestedIps(svc);
      const labels = serviceSelectorLabels(svc);
      /** @type {{ ok: boolean, reason: string, message: string } | undefined} */
      let verdict;

      const satisfied = () => (req.length ? req.every((ip) => list.some((a) => a.ip === ip)) : list.length > 0);
      if (!satisfied()) {
        if (req.length) {
          for (const ip of req) {
            if (list.some((a) => a.ip === ip)) continue;
            const { range, foundPool } = findRange(svc, ip);
            if (!range) {
              verdict = foundPool
                ? { ok: false, reason: 'pool_selector_mismatch', message: `The pool with the CIDR containing '${numToIp(ip)}', doesn't select this service` }
                : { ok: false, reason: 'no_pool', message: `No pool exists with a CIDR containing '${numToIp(ip)}'` };
              continue;
            }
            if (used.has(ip) || range.reserved.includes(ip)) {
              verdict = { ok: false, reason: 'already_allocated', message: `The IP '${numToIp(ip)}' is already allocated to another service` };
              continue;
            }
            list.push({ ip, pool: range.pool });
            used.set(ip, key);
          }
        } else {
          let full = false;
          let got;
          for (const r of allRanges) {
            if (r.disabled) continue;
            const pool = poolByName.get(r.pool);
            if (pool?.spec?.serviceSelector && !selectorMatches(pool.spec.serviceSelector, labels)) continue;
            const ip = allocAny(r, used);
            if (ip === undefined) { full = true; continue; }
            got = { ip, pool: r.pool };
            break;
          }
          if (got) {
            list.push(got);
            used.set(got.ip, key);
          } else {
            verdict = full
              ? { ok: false, reason: 'out_of_ips', message: 'All enabled CiliumLoadBalancerIPPools that match this service ran out of allocatable IPs' }
              : { ok: false, reason: 'no_pool', message: 'There are no enabled CiliumLoadBalancerIPPools that match this service' };
          }
        }
      }
      if (satisfied()) verdict = { ok: true, reason: 'satisfied', message: '' };
      this.allocs.set(key, list);

      const finalIngress = [...kept];
      for (const a of list) {
        const ip = numToIp(a.ip);
        if (!finalIngress.some((i) => i?.ip === ip)) finalIngress.push({ ip, ipMode: 'VIP' });
      }
      const v = verdict;
      this.writeService(svc, (st) => {
        st.loadBalancer = finalIngress.length
          ? { ingress: finalIngress.map((i) => ({ ...i, ipMode: i.ipMode ?? 'VIP' })) }
          : {};
        if (v) st.conditions = svcCondition(st.conditions, svc, v.ok, v.reason, v.message);
      });
    }

    this.writePoolCounts(pools, rangesOf, conflicts, used);
  }

  /**
   * settleConflicts: marks the newer of two overlapping pools (and pools
   * overlapping themselves) conflicting; un-marks pools whose overlap is gone.
   * The marks live in the pools' status, as in Cilium.
   * @param {KubeObject[]} pools sorted oldest first
   * @param {Map<string, Range[]>} rangesOf
   * @returns {Map<string, { conflicting: boolean, message: string }>}
   */
  settleConflicts(pools, rangesOf) {
    /** @type {Map<string, { conflicting: boolean, message: string }>} */
    const state = new Map();
    for (const p of pools) {
      const c = findCondition(p.status?.conditions, POOL_CONFLICT);
      state.set(p.metadata.name, { conflicting: c?.status === 'True', message: c?.status === 'True' ? String(c.message ?? '') : '' });
    }
    /** @param {Range} r */
    const str = (r) => `${numToIp(r.from)} - ${numToIp(r.to)}`;
    /** @param {Range[]} a @param {Range[]} b */
    const overlap = (a, b) => {
      for (const x of a) for (const y of b) if (x.from <= y.to && y.from <= x.to) return [x, y];
      return undefined;
    };
    /** @param {Range[]} rs */
    const internal = (rs) => {
      for (let i = 0; i < rs.length; i++) {
        for (let j = 0; j < rs.length; j++) {
          if (i !== j && rs[i].from <= rs[j].to && rs[j].from <= rs[i].to) return [rs[i], rs[j]];
        }
      }
      return undefined;
    };
    /** @param {string} target @param {Range} tr @param {Range} cr @param {string} collision */
    const mark = (target, tr, cr, collision) => {
      const s = state.get(target);
      if (!s || s.conflicting) return;
      s.conflicting = true;
      s.message = `Pool conflicts since range '${str(tr)}' overlaps range '${str(cr)}' from IP Pool '${collision}'`;
    };

    for (const outer of pools) {
      const on = outer.metadata.name;
      if (state.get(on)?.conflicting) continue;
      const or = rangesOf.get(on) ?? [];
      const self = internal(or);
      if (self) { mark(on, self[0], self[1], on); continue; }
      for (const inner of pools) {
        const inn = inner.metadata.name;
        if (inn === on || state.get(inn)?.conflicting) continue;
        const hit = overlap(or, rangesOf.get(inn) ?? []);
        if (!hit) continue;
        if (this.compare(POOLS, outer, inner) < 0) mark(inn, hit[1], hit[0], on);
        else mark(on, hit[0], hit[1], inn);
        break;
      }
    }
    for (const outer of pools) {
      const on = outer.metadata.name;
      const s = state.get(on);
      if (!s?.conflicting) continue;
      const or = rangesOf.get(on) ?? [];
      if (internal(or)) continue;
      const still = pools.some((inner) => inner.metadata.name !== on && overlap(or, rangesOf.get(inner.metadata.name) ?? []));
      if (!still) { s.conflicting = false; s.message = ''; }
    }
    return state;
  }

  /**
   * @param {KubeObject[]} pools @param {Map<string, Range[]>} rangesOf
   * @param {Map<string, { conflicting: boolean, message: string }>} conflicts
   * @param {Map<number, string>} [used]
   */
  writePoolCounts(pools, rangesOf, conflicts, used = new Map()) {
    for (const p of pools) {
      let total = 0;
      let usedCount = 0;
      for (const r of rangesOf.get(p.metadata.name) ?? []) {
        total += r.to - r.from + 1;
        usedCount += r.reserved.length;
        for (const ip of used.keys()) if (ip >= r.from && ip <= r.to && !r.reserved.includes(ip)) usedCount++;
      }
      const c = conflicts.get(p.metadata.name) ?? { conflicting: false, message: '' };
      const o = this.store.get(POOLS, '', p.metadata.name);
      if (!o) continue;
      const gen = o.metadata.generation;
      let conds = o.status?.conditions ?? [];
      conds = poolCondition(conds, POOL_CONFLICT, c.conflicting ? 'True' : 'False', c.conflicting ? 'cidr_overlap' : 'resolved', c.message, gen);
      conds = poolCondition(conds, 'cilium.io/IPsTotal', 'Unknown', 'noreason', String(total), gen);
      conds = poolCondition(conds, 'cilium.io/IPsAvailable', 'Unknown', 'noreason', String(total - usedCount), gen);
      conds = poolCondition(conds, 'cilium.io/IPsUsed', 'Unknown', 'noreason', String(usedCount), gen);
      const before = JSON.stringify(o.status ?? null);
      o.status = { ...(o.status ?? {}), conditions: conds };
      if (JSON.stringify(o.status) !== before) this.store.update(POOLS, o);
    }
  }

  /** @param {KubeObject} svc @param {(status: any) => void} mutate */
  writeService(svc, mutate) {
    const o = this.store.get(SVCS, svc.metadata.namespace ?? '', svc.metadata.name);
    if (!o || o.metadata.uid !== svc.metadata.uid) return;
    const before = JSON.stringify(o.status ?? null);
    const st = structuredClone(o.status ?? {});
    mutate(st);
    o.status = st;
    if (JSON.stringify(o.status) !== before) this.store.update(SVCS, o);
  }
}

/**
 * Ranges of a pool's blocks, in order; unparsable blocks are skipped.
 * @param {KubeObject} pool @returns {Range[]}
 */
function buildRanges(pool) {
  /** @type {Range[]} */
  const out = [];
  for (const b of pool.spec?.blocks ?? []) {
    let from; let to; let fromCidr = false;
    if (b?.cidr) {
      const c = parseCidr(b.cidr);
      if (!c) continue;
      from = c.from; to = c.to; fromCidr = true;
    } else {
      from = ipToNum(b?.start ?? '');
      to = b?.stop ? ipToNum(b.stop) : from;
      if (from === undefined || to === undefined || from > to) continue;
    }
    const reserved = fromCidr && pool.spec?.allowFirstLastIPs === 'No' && to - from >= 2 ? [from, to] : [];
    out.push({ pool: pool.metadata.name, from, to, reserved, disabled: false });
  }
  return out;
}

/**
 * pkg/ipalloc's AllocAny: the first IP of the smallest free block (lowest
 * address among equals). Undefined when the range is full.
 * @param {Range} r @param {Map<number, string>} used
 */
function allocAny(r, used) {
  const taken = [...new Set([...r.reserved, ...[...used.keys()].filter((ip) => ip >= r.from && ip <= r.to)])].sort((a, b) => a - b);
  /** @type {{ start: number, size: number } | undefined} */
  let best;
  let cursor = r.from;
  for (const t of [...taken, r.to + 1]) {
    if (t > cursor) {
      const size = t - cursor;
      if (!best || size < best.size) best = { start: cursor, size };
    }
    cursor = Math.max(cursor, t + 1);
  }
  return best?.start;
}

/**
 * @param {any[] | undefined} conditions @param {KubeObject} svc @param {boolean} ok
 * @param {string} reason @param {string} message
 */
function svcCondition(conditions, svc, ok, reason, message) {
  const status = ok ? 'True' : 'False';
  const old = findCondition(conditions, SVC_SATISFIED);
  if (old && old.status === status && old.reason === reason && old.message === message &&
    old.observedGeneration === svc.metadata.generation) return conditions ?? [];
  return setCondition(conditions, {
    type: SVC_SATISFIED, status, observedGeneration: svc.metadata.generation, reason, message,
  });
}

/**
 * @param {any[]} conditions @param {string} type @param {string} status @param {string} reason
 * @param {string} message @param {number | undefined} gen
 */
function poolCondition(conditions, type, status, reason, message, gen) {
  const old = findCondition(conditions, type);
  if (old && old.status === status && old.reason === reason && old.message === message && old.observedGeneration === gen) return conditions;
  return setCondition(conditions, { type, status, observedGeneration: gen, reason, message });
}
