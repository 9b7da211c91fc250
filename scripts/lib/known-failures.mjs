// @ts-check
// Known reasons why a step fails, recognised from what the diagnostics bundle
// collected (scripts/lib/diagnostics-bundle.mjs): `cilium status`, `cilium clustermesh
// status`, the Services, pools, CRDs, nodes and K3s ServiceLB objects of both
// clusters, and the failing command. Pure functions: data in, advice out, so each
// recogniser can be tested on crafted data. Each returns a hint or null; a hint
// says what is wrong, where, and what to do.
import { parseIPv4, parseCidr, formatIPv4 } from './net.mjs';
import { MESH_POOL, APP_POOL, POOL_CRD, L2_CRD } from './manifests.mjs';

/**
 * A value that was collected, or why it could not be. A command that failed but
 * still printed something useful (`cilium status` exits 1 with JSON) keeps it in
 * `value`.
 * @template T
 * @typedef {{ ok: true, value: T } | { ok: false, error: string, value?: T }} Got
 */

/**
 * What the recognisers know of one cluster.
 * @typedef {object} ClusterData
 * @property {{ key: string, label: string, context: string, name: string, meshIp: string, appPool: { start: string, stop: string } }} cluster
 *   the configured values (ClusterConfig has them all)
 * @property {Got<any>} ciliumStatus `cilium status -o json`
 * @property {Got<any>} meshStatus `cilium clustermesh status -o json`
 * @property {Got<any | null>} meshService kube-system/clustermesh-apiserver, null when missing
 * @property {Got<any | null>} apiserver the clustermesh-apiserver Deployment, null when missing
 * @property {Got<any | null>} echoService the echo Service, null when missing
 * @property {Got<any[]>} pools CiliumLoadBalancerIPPools
 * @property {Got<any[]>} l2Policies CiliumL2AnnouncementPolicies
 * @property {Got<any[]>} crds the two LB-IPAM CRDs that exist
 * @property {Got<any[]>} servicelb DaemonSets and pods of K3s's ServiceLB (label svccontroller.k3s.cattle.io/svcname)
 * @property {Got<any[]>} nodes
 */

/**
 * @typedef {object} DiagnosisData
 * @property {{ step: string, action: string, message: string, line: string, stderr: string, stdout: string }} failure
 * @property {'LoadBalancer' | 'NodePort'} meshServiceType
 * @property {{ namespace: string, name: string }} echo
 * @property {ClusterData[]} clusters [a, b]
 */

/** @typedef {{ id: 'crds' | 'ca-mismatch' | 'same-lb-ip' | 'servicelb' | 'pool', hint: string }} Finding */

const APISERVER = 'clustermesh-apiserver';
export const SVCLB_LABEL = 'svccontroller.k3s.cattle.io/svcname';
export const SVCLB_NS_LABEL = 'svccontroller.k3s.cattle.io/svcnamespace';
export const IPAM_CONDITION = 'cilium.io/IPAMRequestSatisfied';
export const POOL_CONFLICT = 'cilium.io/PoolConflict';

// ---- small readers --------------------------------------------------------------

/** The value of a Got, also of one that failed but printed something. @template T @param {Got<T> | undefined} g @returns {T | undefined} */
const val = (g) => g?.value;

/** @param {Got<any[]> | undefined} g @returns {any[]} */
const list = (g) => (Array.isArray(g?.value) ? /** @type {any[]} */ (g?.value) : []);

/** Every LoadBalancer ingress IP of a Service. @param {any} svc @returns {string[]} */
export const ingressIps = (svc) => (svc?.status?.loadBalancer?.ingress ?? [])
  .map((/** @type {any} */ i) => i?.ip).filter((/** @type {any} */ ip) => typeof ip === 'string' && ip !== '');

/** @param {string} text @returns {number | null} */
function ipNum(text) {
  try { return parseIPv4(String(text)); } catch { return null; }
}

/**
 * The address ranges of a pool's blocks (cidr, or start[/stop]).
 * @param {any} pool @returns {{ start: number, end: number }[]}
 */
function poolRanges(pool) {
  /** @type {{ start: number, end: number }[]} */
  const out = [];
  for (const b of pool?.spec?.blocks ?? []) {
    if (b?.cidr) {
      try {
        const c = parseCidr(String(b.cidr), { allowHostBits: true });
        out.push({ start: c.network, end: c.last });
      } catch { /* not IPv4: not ours to judge */ }
      continue;
    }
    const start = ipNum(b?.start);
    const end = b?.stop ? ipNum(b.stop) : start;
    if (start !== null && end !== null) out.push({ start, end });
  }
  return out;
}

/** @param {any} pool */
const describeBlocks = (pool) => poolRanges(pool)
  .map((r) => (r.start === r.end ? formatIPv4(r.start) : `${formatIPv4(r.start)}–${formatIPv4(r.end)}`)).join(', ') || 'no IPv4 block';

/** Names of the pools whose blocks hold this IP. @param {any[]} pools @param {string} ip */
export function poolsHolding(pools, ip) {
  const n = ipNum(ip);
  if (n === null) return [];
  return pools.filter((p) => poolRanges(p).some((r) => n >= r.start && n <= r.end)).map((p) => String(p.metadata?.name));
}

/** @param {any} obj @param {string} type */
const condition = (obj, type) => (obj?.status?.conditions ?? []).find((/** @type {any} */ c) => c?.type === type);

/** Node addresses of a cluster: IP → node name. @param {ClusterData} c */
function nodeIps(c) {
  /** @type {Map<string, string>} */
  const m = new Map();
  for (const n of list(c.nodes)) {
    for (const a of n?.status?.addresses ?? []) {
      if ((a?.type === 'InternalIP' || a?.type === 'ExternalIP') && a.address) m.set(a.address, n.metadata?.name ?? '?');
    }
  }
  return m;
}

/** The Services a failure can be about, with what they should get. @param {DiagnosisData} d @param {ClusterData} c */
function servicesOf(d, c) {
  /** @type {{ svc: any, ref: string, kind: 'mesh' | 'echo' }[]} */
  const out = [];
  const mesh = val(c.meshService);
  if (mesh) out.push({ svc: mesh, ref: `kube-system/${APISERVER}`, kind: 'mesh' });
  const echo = val(c.echoService);
  if (echo) out.push({ svc: echo, ref: `${d.echo.namespace}/${d.echo.name}`, kind: 'echo' });
  return out.filter((s) => s.svc?.spec?.type === 'LoadBalancer');
}

/** Is Cilium installed on this cluster, as `cilium status` saw it? @param {ClusterData} c */
function ciliumInstalled(c) {
  const s = val(c.ciliumStatus);
  return Boolean(s && (s.helm_chart_version || s.pod_state?.['cilium-operator'] || s.pod_state?.cilium));
}

/** "1/1 ready" of cilium-operator from `cilium status`, or ''. @param {ClusterData} c */
function operatorState(c) {
  const p = val(c.ciliumStatus)?.pod_state?.['cilium-operator'];
  return p ? `${p.Ready ?? 0}/${p.Desired ?? 0} ready` : '';
}

/** The failing command's text, for matching CLI messages. @param {DiagnosisData} d */
const failureText = (d) => [d.failure.message, d.failure.stderr, d.failure.stdout].join('\n');

// ---- hints shared with the steps' own advice (mesh.mjs) ------------------------------

/** @param {string} a context of A @param {string} b context of B */
export const caMismatchHint = (a, b) =>
  `the clusters have different Cilium CAs. Cilium on ${b} was installed without ${a}'s CA: ` +
  'uninstall it there, delete its cilium-ca Secret, and run steps 02 and 03 again.';

/** @param {string} text a CLI's output */
export const saysCaMismatch = (text) => /CA certificates do not match/i.test(text);

/** @param {string[]} ips */
export const sameIpHint = (ips) =>
  `both clustermesh-apiservers are reached at ${ips.join(', ')}: two apiservers behind one IP never connect ` +
  '("remote cluster configuration required but not found").';

/**
 * IPs at which both clusters' clustermesh-apiservers are reached, from their
 * `cilium clustermesh status -o json` (access_information.service_ips).
 * @param {any} statusA @param {any} statusB @returns {string[]}
 */
export function sharedMeshIps(statusA, statusB) {
  const ipb = statusB?.access_information?.service_ips ?? [];
  return (statusA?.access_information?.service_ips ?? []).filter((/** @type {string} */ ip) => ipb.includes(ip));
}

// ---- the recognisers ------------------------------------------------------------------

/**
 * Cilium's LB-IPAM CRDs are unknown or not Established on a cluster where
 * Cilium is installed (cilium-operator registers them when it starts).
 * @param {DiagnosisData} d @returns {string | null}
 */
export function crdsNotReady(d) {
  const hints = [];
  for (const c of d.clusters) {
    if (!ciliumInstalled(c)) continue; // then the step names the install step itself
    /** @type {string[]} */
    const problems = [];
    if (c.crds.ok) {
      for (const name of [POOL_CRD, L2_CRD]) {
        const crd = list(c.crds).find((x) => x?.metadata?.name === name);
        if (!crd) problems.push(`${name} is missing`);
        else if (condition(crd, 'Established')?.status !== 'True') problems.push(`${name} is not Established`);
      }
    }
    for (const g of [c.pools, c.l2Policies]) {
      if (!g.ok && /doesn't have a resource type|no matches for kind|could not find the requested resource/i.test(g.error) && !problems.length) {
        problems.push(`the API server does not serve Cilium's pool kinds (${firstLine(g.error)})`);
      }
    }
    if (!problems.length) continue;
    const op = operatorState(c);
    hints.push(`Cilium's LoadBalancer CRDs are not ready on ${c.cluster.context}: ${problems.join('; ')}. ` +
      `cilium-operator registers them when it starts${op ? ` (cilium-operator: ${op})` : ''}: check it with ` +
      `\`cilium status --context ${c.cluster.context}\`; \`kubectl --context ${c.cluster.context} -n kube-system rollout restart ` +
      'deployment/cilium-operator` makes it register them again. Then run the step again.');
  }
  return hints.length ? hints.join('\n') : null;
}

/**
 * The clusters have different Cilium CAs: `cilium clustermesh connect` says so,
 * or the CA certificates in their access information differ.
 * @param {DiagnosisData} d @returns {string | null}
 */
export function caMismatch(d) {
  const [a, b] = d.clusters;
  if (!a || !b) return null;
  const caA = val(a.meshStatus)?.access_information?.ca;
  const caB = val(b.meshStatus)?.access_information?.ca;
  const differ = typeof caA === 'string' && typeof caB === 'string' && caA !== '' && caB !== '' && caA !== caB;
  if (!differ && !saysCaMismatch(failureText(d))) return null;
  return caMismatchHint(a.cluster.context, b.cluster.context);
}

/**
 * Both clustermesh-apiservers have the same IP (their Services' LoadBalancer
 * IPs, or the addresses `cilium clustermesh status` reports).
 * @param {DiagnosisData} d @returns {string | null}
 */
export function sameLbIp(d) {
  const [a, b] = d.clusters;
  if (!a || !b) return null;
  /** @param {ClusterData} c */
  const ips = (c) => [...new Set([...ingressIps(val(c.meshService)),
    ...(val(c.meshStatus)?.access_information?.service_type === 'LoadBalancer' ? val(c.meshStatus)?.access_information?.service_ips ?? [] : [])])];
  const ipb = ips(b);
  const shared = ips(a).filter((ip) => ipb.includes(ip));
  if (!shared.length) return null;
  const wrong = d.clusters.filter((c) => c.cluster.meshIp !== shared[0]);
  if (a.cluster.meshIp === b.cluster.meshIp) {
    return `${sameIpHint(shared)} Give the clusters different CLUSTER_A_MESH_IP and CLUSTER_B_MESH_IP values.`;
  }
  const why = wrong.map((c) => {
    const holding = poolsHolding(list(c.pools), shared[0]);
    return `${c.cluster.context}'s clustermesh-apiserver has ${shared[0]}, not its CLUSTER_${c.cluster.label}_MESH_IP ${c.cluster.meshIp}` +
      (holding.length ? ` (pool ${holding.join(', ')} holds ${shared[0]})` : '');
  });
  return `${sameIpHint(shared)} ${why.join('; ')}. Run step 04 again (it puts back the configured ${MESH_POOL} pools), ` +
    'then steps 06 and 07.';
}

/**
 * K3s's ServiceLB (svclb) took a LoadBalancer Service: its IP is a node's
 * address, or svclb DaemonSets/pods serve it.
 * @param {DiagnosisData} d @returns {string | null}
 */
export function serviceLb(d) {
  const hints = [];
  for (const c of d.clusters) {
    const nodes = nodeIps(c);
    const svclb = list(c.servicelb);
    /** @type {string[]} */
    const seen = [];
    for (const { svc, ref } of servicesOf(d, c)) {
      const onNode = ingressIps(svc).filter((ip) => nodes.has(ip));
      const ds = svclbFor(svclb, svc).filter((o) => o.kind === 'DaemonSet').map((o) => String(o.metadata?.name));
      const pods = svclbFor(svclb, svc).filter((o) => o.kind === 'Pod');
      if (!onNode.length && !ds.length && !pods.length) continue;
      const parts = [];
      if (onNode.length) parts.push(`got ${onNode.map((ip) => `${ip} (node ${nodes.get(ip)})`).join(', ')}`);
      if (ds.length) parts.push(`is served by DaemonSet ${ds.join(', ')}`);
      else if (pods.length) parts.push(`is served by ${pods.length} svclb pod${pods.length === 1 ? '' : 's'}`);
      seen.push(`${ref} ${parts.join(' and ')}`);
    }
    if (!seen.length && svclb.some((o) => o.kind === 'DaemonSet')) {
      seen.push(`DaemonSet ${svclb.filter((o) => o.kind === 'DaemonSet').map((o) => o.metadata?.name).join(', ')} runs`);
    }
    if (!seen.length) continue;
    hints.push(`K3s's ServiceLB took LoadBalancer Services on ${c.cluster.context}: ${seen.join('; ')}. ` +
      'Start the K3s servers with --disable=servicelb (cilium/cilium#31957); Cilium\'s LB-IPAM then gives each Service its ' +
      'pool IP. Then run the step again.');
  }
  return hints.length ? hints.join('\n') : null;
}

/** The svclb objects of one Service. @param {any[]} svclb @param {any} svc */
function svclbFor(svclb, svc) {
  const name = svc?.metadata?.name;
  const ns = svc?.metadata?.namespace;
  return svclb.filter((o) => o?.metadata?.labels?.[SVCLB_LABEL] === name &&
    (o.metadata.labels?.[SVCLB_NS_LABEL] ?? ns) === ns);
}

/**
 * A pool does not give a Service the IP it should: the Service is pending with
 * LB-IPAM's reason (no_pool, out_of_ips, …), or has an IP outside what the
 * config says (the clustermesh-apiserver not on its CLUSTER_X_MESH_IP, echo
 * outside the app pool). Services that ServiceLB took, and apiservers sharing
 * one IP, are left to those recognisers.
 * @param {DiagnosisData} d @returns {string | null}
 */
export function poolMismatch(d) {
  const [a, b] = d.clusters;
  const shared = a && b ? ingressIps(val(a.meshService)).filter((ip) => ingressIps(val(b.meshService)).includes(ip)) : [];
  const hints = [];
  for (const c of d.clusters) {
    const nodes = nodeIps(c);
    const pools = list(c.pools);
    for (const { svc, ref, kind } of servicesOf(d, c)) {
      if (kind === 'mesh' && d.meshServiceType !== 'LoadBalancer') continue;
      if (svclbFor(list(c.servicelb), svc).length) continue;
      const ips = ingressIps(svc);
      if (ips.some((ip) => nodes.has(ip) || shared.includes(ip))) continue;
      const poolName = kind === 'mesh' ? MESH_POOL : APP_POOL;
      const pool = pools.find((p) => p?.metadata?.name === poolName);
      const wanted = kind === 'mesh' ? c.cluster.meshIp : `${c.cluster.appPool.start}–${c.cluster.appPool.stop}`;
      const step = kind === 'mesh' ? '04' : '05';
      const where = `${ref} on ${c.cluster.context}`;
      if (!ips.length) {
        const cond = condition(svc, IPAM_CONDITION);
        if (!cond) {
          if (ciliumInstalled(c)) {
            hints.push(`${where} has no LoadBalancer IP and no ${IPAM_CONDITION} condition: Cilium's LB-IPAM has not handled it. ` +
              `Check that cilium-operator runs (\`cilium status --context ${c.cluster.context}\`).`);
          }
          continue;
        }
        if (cond.status === 'True') continue;
        hints.push(`${where} has no LoadBalancer IP: LB-IPAM says ${cond.reason}: "${cond.message}". ` +
          poolAdvice(c, pool, poolName, cond.reason, wanted, step));
        continue;
      }
      const outside = ips.filter((ip) => !inWanted(c, kind, ip));
      if (!outside.length) continue;
      const holding = poolsHolding(pools, outside[0]);
      hints.push(`${where} got ${outside.join(', ')}, not ${kind === 'mesh' ? `its CLUSTER_${c.cluster.label}_MESH_IP ` : `an IP of CLUSTER_${c.cluster.label}_APP_POOL_START/STOP `}${wanted}` +
        `${holding.length ? ` (from pool ${holding.join(', ')})` : ''}. ${poolAdvice(c, pool, poolName, '', wanted, step)}`);
    }
  }
  return hints.length ? hints.join('\n') : null;
}

/** @param {ClusterData} c @param {'mesh' | 'echo'} kind @param {string} ip */
function inWanted(c, kind, ip) {
  if (kind === 'mesh') return ip === c.cluster.meshIp;
  const n = ipNum(ip);
  const start = ipNum(c.cluster.appPool.start);
  const stop = ipNum(c.cluster.appPool.stop);
  return n !== null && start !== null && stop !== null && n >= start && n <= stop;
}

/**
 * What is wrong with the pool that should serve a Service, and what to do.
 * @param {ClusterData} c @param {any} pool @param {string} poolName @param {string} reason
 * @param {string} wanted @param {string} step
 */
function poolAdvice(c, pool, poolName, reason, wanted, step) {
  const ctx = c.cluster.context;
  const again = `Run step ${step} again: it puts back the configured pool.`;
  if (!pool) return `Pool ${poolName} is missing on ${ctx}. ${again}`;
  const conflict = condition(pool, POOL_CONFLICT);
  if (conflict?.status === 'True') return `Pool ${poolName} on ${ctx} is in conflict: ${conflict.message}. Make the pools' ranges disjoint.`;
  if (pool.spec?.disabled === true) return `Pool ${poolName} on ${ctx} is disabled. ${again}`;
  if (reason === 'out_of_ips') {
    return `Pool ${poolName} on ${ctx} (${describeBlocks(pool)}) has no free IP: other Services hold them ` +
      `(\`kubectl --context ${ctx} get svc -A\`); give it more addresses.`;
  }
  return `Pool ${poolName} on ${ctx} holds ${describeBlocks(pool)} and selects ${JSON.stringify(pool.spec?.serviceSelector ?? {})}; ` +
    `it should give ${wanted}. ${again}`;
}

/** @param {string} s */
const firstLine = (s) => s.trim().split('\n').find((l) => l.trim()) ?? '';

/** The recognisers, most specific first. */
export const RECOGNISERS = /** @type {const} */ ([
  ['crds', crdsNotReady], ['ca-mismatch', caMismatch], ['same-lb-ip', sameLbIp], ['servicelb', serviceLb], ['pool', poolMismatch],
]);

/**
 * Every known failure the data shows. A recogniser that throws on odd data
 * counts as not recognising it.
 * @param {DiagnosisData} d @returns {Finding[]}
 */
export function diagnose(d) {
  /** @type {Finding[]} */
  const out = [];
  for (const [id, fn] of RECOGNISERS) {
    let hint = null;
    try { hint = fn(d); } catch { hint = null; }
    if (hint) out.push({ id, hint });
  }
  return out;
}
