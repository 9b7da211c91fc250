// @ts-check
// `cilium clustermesh enable|disable|connect|disconnect|status`, following
// cilium-cli/clustermesh/clustermesh.go: the Helm values each command sets, the
// access-information extraction and its checks (same order, same messages), the
// CA comparison by Subject Key Identifier, the merge of clustermesh.config.clusters
// by name, the completion lines, and the status report. Connectivity comes, as
// in the real CLI, from exec'ing into each agent (`cilium status -o json`) and
// each KVStoreMesh replica (`clustermesh-apiserver kvstoremesh-dbg status -o
// json`) through the API server; the twin's agent model answers (twin/agents).
import { Fatal, autodetectFlavor, remoteClient } from './cli.mjs';
import { isNotFound, sleep } from './kube.mjs';
import { execInPod, execRaw } from './exec.mjs';
import { ReleaseStore, helmUpgrade } from './helm.mjs';
import { clone, dig, isTable, setIn } from './values.mjs';
import { pemToDer, subjectKeyId } from './pki.mjs';
import { podsFor, getOrNull } from './pods.mjs';
import { goJson, RETRY_MS } from './cmd-status.mjs';
import { formatDuration } from './argv.mjs';
import { cmpVersion } from './cmd-helm.mjs';

/** @typedef {import('./cli.mjs').Ctx} Ctx */
/** @typedef {import('./kube.mjs').Kube} Kube */
/** @typedef {import('./values.mjs').Values} Values */

const ERR_CONFIG_REQUIRED = 'remote cluster configuration required but not found';

/** The package-level maxConnectedClusters of the CLI (assigned by every extraction that finds the key). */
let maxConnectedClusters = 255;

/** @param {string} m */
const warnLog = (m) => process.stderr.write(`${m}\n`);

/**
 * @typedef {object} AccessInfo
 * @property {string} serviceType
 * @property {string[]} serviceIPs
 * @property {number} servicePort
 * @property {string} clusterID
 * @property {string} clusterName
 * @property {Buffer} ca
 * @property {string} tunnel
 * @property {number} maxConnectedClusters
 */

/** Go's fmt %s of a []string. @param {string[]} a */
const goList = (a) => `[${a.join(' ')}]`;

/**
 * getSecret with the CLI's deprecated-name fallbacks.
 * @param {Kube} kube @param {string} ns @param {string} name @param {(l: string) => void} log
 */
async function getSecretWithFallback(kube, ns, name, log) {
  try { return await kube.get('Secret', ns, name); } catch { /* fall through to deprecated names */ }
  /** @param {string} n */
  const deprecated = (n) => (n === 'clustermesh-apiserver-remote-cert' ? 'clustermesh-apiserver-client-cert'
    : ['clustermesh-apiserver-server-cert', 'clustermesh-apiserver-admin-cert', 'clustermesh-apiserver-client-cert'].includes(n) ? `${n}s` : '');
  let current = name;
  for (;;) {
    const d = deprecated(current);
    if (!d) throw new Error(`unable to get secret ${JSON.stringify(current)} and no deprecated names to try`);
    log(`Trying to get secret ${current} by deprecated name ${d}`);
    try {
      const s = await kube.get('Secret', ns, d);
      log(`⚠️ Deprecated secret name ${JSON.stringify(s.metadata.name)}, should be changed to ${JSON.stringify(name)}`);
      return s;
    } catch { current = d; }
  }
}

/**
 * extractAccessInformation of the CLI.
 * @param {Kube} kube @param {string} ns @param {string[]} endpoints @param {boolean} verbose @param {(l: string) => void} log
 * @returns {Promise<AccessInfo>}
 */
async function extractAccessInformation(kube, ns, endpoints, verbose, log) {
  let cm;
  try { cm = await kube.get('ConfigMap', ns, 'cilium-config'); } catch (e) {
    throw new Error(`unable to retrieve ConfigMap "cilium-config": ${/** @type {Error} */ (e).message}`);
  }
  const data = cm.data ?? {};
  if (!('cluster-name' in data)) throw new Error('cluster-name is not set in ConfigMap "cilium-config"');
  const clusterID = data['cluster-id'] ?? '';
  const clusterName = data['cluster-name'];
  if ('max-connected-clusters' in data) {
    const mcc = data['max-connected-clusters'];
    if (!/^[+-]?\d+$/.test(mcc)) throw new Error(`unable to parse max-connected-clusters: strconv.Atoi: parsing ${JSON.stringify(mcc)}: invalid syntax`);
    maxConnectedClusters = Number(mcc);
  }
  if (verbose) log(`✨ Extracting access information of cluster ${clusterName}...`);
  let svc;
  try { svc = await kube.get('Service', ns, 'clustermesh-apiserver'); } catch (e) {
    throw new Error(`unable to get clustermesh service "clustermesh-apiserver": ${/** @type {Error} */ (e).message}`);
  }
  if (verbose) log(`🔑 Extracting secrets from cluster ${clusterName}...`);
  let meshSecret;
  try { meshSecret = await getSecretWithFallback(kube, ns, 'clustermesh-apiserver-remote-cert', log); } catch (e) {
    throw new Error(`unable to get client secret to access clustermesh service: ${/** @type {Error} */ (e).message}`);
  }
  /** @type {Buffer} */
  let ca;
  try {
    let caSecret;
    try { caSecret = await kube.get('Secret', ns, 'cilium-ca'); } catch (e) {
      throw new Error(`get secret "cilium-ca" to retrieve CA: ${/** @type {Error} */ (e).message}`);
    }
    const raw = caSecret.data?.['ca.crt'] ?? caSecret.data?.['tls.crt'];
    if (raw === undefined) throw new Error('secret "cilium-ca" does not contain the CA certificate');
    ca = Buffer.from(raw, 'base64');
  } catch (e) {
    const raw = meshSecret.data?.['ca.crt'];
    if (raw === undefined) throw new Error(`unable to retrieve the CA certificate: ${/** @type {Error} */ (e).message}`);
    ca = Buffer.from(raw, 'base64');
  }
  let tunnel = '';
  if (data['routing-mode'] === 'tunnel') tunnel = data['tunnel-protocol'] ?? 'vxlan';
  /** @type {AccessInfo} */
  const ai = { clusterID, clusterName, ca, serviceType: svc.spec?.type ?? '', serviceIPs: [], servicePort: 0, tunnel, maxConnectedClusters };
  const ports = svc.spec?.ports ?? [];
  if (endpoints.length > 0) {
    for (const ep of endpoints) {
      const m = /^(?:\[([^\]]+)\]|([^:]+)):(.*)$/.exec(ep);
      if (!m) throw new Error(`invalid endpoint ${JSON.stringify(ep)}, must be IP:PORT: address ${ep}: missing port in address`);
      const port = m[3];
      if (!/^[+-]?\d+$/.test(port)) throw new Error(`invalid port ${JSON.stringify(port)}: strconv.Atoi: parsing ${JSON.stringify(port)}: invalid syntax`);
      if (ai.servicePort === 0) ai.servicePort = Number(port);
      else if (ai.servicePort !== Number(port)) throw new Error(`port mismatch (${ai.servicePort} != ${Number(port)}), all endpoints must use the same port number`);
      ai.serviceIPs.push(m[1] ?? m[2]);
    }
  } else if (ai.serviceType === 'ClusterIP') {
    if (ports.length === 0) throw new Error('port of service could not be derived, service has no ports');
    if (!ports[0].port) throw new Error('port is not set in service');
    ai.servicePort = ports[0].port;
    if (!svc.spec.clusterIP) throw new Error('IP of service could not be derived, service has no ClusterIP');
    ai.serviceIPs.push(svc.spec.clusterIP);
  } else if (ai.serviceType === 'NodePort') {
    if (ports.length === 0) throw new Error('port of service could not be derived, service has no ports');
    if (!ports[0].nodePort) throw new Error('nodeport is not set in service');
    ai.servicePort = ports[0].nodePort;
    let nodes;
    try { nodes = await kube.list('Node', ''); } catch (e) { throw new Error(`unable to list nodes in cluster: ${/** @type {Error} */ (e).message}`); }
    for (const n of nodes) {
      let ip = '';
      for (const a of n.status?.addresses ?? []) {
        if (a.type === 'ExternalIP') ip = a.address;
        else if (a.type === 'InternalIP' && !ip) ip = a.address;
      }
      if (ip) { ai.serviceIPs.push(ip); break; }
    }
    log('⚠️  Service type NodePort detected! Service may fail when nodes are removed from the cluster!');
  } else if (ai.serviceType === 'LoadBalancer') {
    if (ports.length === 0) throw new Error('port of service could not be derived, service has no ports');
    ai.servicePort = ports[0].port;
    for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
      if (!ing.hostname) ai.serviceIPs.push(ing.ip);
      else {
        log('Hostname based ingress detected, trying to resolve it');
        log(`Could not resolve the hostname of the ingress, falling back to the static IP. Error: lookup ${ing.hostname}: the twin does not resolve names`);
        ai.serviceIPs.push(ing.ip ?? '');
      }
    }
  }
  if (ai.serviceIPs.length === 0) throw new Error('unable to derive service IPs automatically');
  if (verbose) log(`ℹ️  Found ClusterMesh service IPs: ${goList(ai.serviceIPs)}`);
  return ai;
}

/** @param {AccessInfo} ai */
const aiValid = (ai) => ai.clusterName !== '' && ai.clusterName !== 'default' && ai.clusterID !== '' && ai.clusterID !== '0';

/** validateInfoForConnect. @param {AccessInfo} local @param {AccessInfo} remote */
function validateInfoForConnect(local, remote) {
  if (!aiValid(remote)) throw new Error(`remote cluster has non-unique name (${remote.clusterName}) and/or ID (${remote.clusterID})`);
  if (!aiValid(local)) throw new Error(`local cluster has the default name (cluster name: ${local.clusterName}) and/or ID 0 (cluster ID: ${local.clusterID})`);
  if (!/^[+-]?\d+$/.test(remote.clusterID)) throw new Error(`remote cluster has non-numeric cluster ID ${remote.clusterID}. Only numeric values 1-255 are allowed`);
  const cid = Number(remote.clusterID);
  if (cid < 1 || cid > local.maxConnectedClusters) throw new Error(`remote cluster has cluster ID ${cid} out of acceptable range (1-${local.maxConnectedClusters})`);
  if (remote.maxConnectedClusters !== local.maxConnectedClusters) throw new Error(`remote and local clusters have different max connected clusters: ${remote.maxConnectedClusters} != ${local.maxConnectedClusters}`);
  if (remote.clusterName === local.clusterName) throw new Error(`remote and local cluster have the same, non-unique name: ${local.clusterName}`);
  if (remote.clusterID === local.clusterID) throw new Error(`remote and local cluster have the same, non-unique ID: ${local.clusterID}`);
}

/** validateCAMatch: compares the CA certificates' Subject Key Identifiers. @param {AccessInfo} local @param {AccessInfo} remote */
function caMatch(local, remote) {
  const l = pemToDer(local.ca);
  if (!l) throw new Error('failed to parse certificate PEM for local CA cert');
  const lk = subjectKeyId(l);
  const r = pemToDer(remote.ca);
  if (!r) throw new Error('failed to parse certificate PEM for remote CA cert');
  const rk = subjectKeyId(r);
  return lk.equals(rk);
}

/**
 * getClustersFromValues: enabled and disabled clusters by name.
 * @param {Values} values @returns {[Record<string, any>, Record<string, any>]}
 */
function clustersFromValues(values) {
  const c = dig(values, 'clustermesh', 'config', 'clusters');
  /** @type {Record<string, any>} */
  let byName = {};
  if (c == null) byName = {};
  else if (isTable(c)) byName = clone(c);
  else if (Array.isArray(c)) {
    for (const cl of c) {
      if (!isTable(cl) || typeof cl.name !== 'string') throw new Error('existing clustermesh.config.clusters is invalid');
      const { name, ...rest } = cl;
      byName[name] = rest;
    }
  } else throw new Error('existing clustermesh.config.clusters is invalid');
  /** @type {Record<string, any>} */ const enabled = {};
  /** @type {Record<string, any>} */ const disabled = {};
  for (const [n, cl] of Object.entries(byName)) {
    if (!isTable(cl)) throw new Error('existing clustermesh.config.clusters is invalid');
    if (cl.enabled === false) disabled[n] = cl; else enabled[n] = cl;
  }
  return [enabled, disabled];
}

/** @param {AccessInfo} ai @returns {[string, Values]} */
const clusterEntry = (ai) => [ai.clusterName, { ips: [...ai.serviceIPs], port: ai.servicePort }];

/** @param {Record<string, any>} existing @param {Record<string, any>} added @param {string} except */
function mergeClusters(existing, added, except) {
  const n = { ...added };
  delete n[except];
  return { ...existing, ...n };
}

/**
 * getRelease: the last revision of the release (values + chart version).
 * @param {Kube} kube @param {Ctx} ctx
 */
async function getRelease(kube, ctx) {
  return new ReleaseStore(kube, ctx.namespace).last(ctx.release);
}

/**
 * helmUpgradeClusters: rewrites clustermesh.config.clusters (and the CA bundle) in the last
 * release's values and upgrades with exactly those values.
 * @param {Ctx} ctx @param {Kube} kube @param {Record<string, any>} clusters @param {Record<string, any>} disabled
 * @param {Record<string, string> | null} clustersCA
 */
async function helmUpgradeClusters(ctx, kube, clusters, disabled, clustersCA) {
  const rel = await getRelease(kube, ctx);
  const values = clone(rel.config ?? {});
  const versionStr = rel.chart?.metadata?.version;
  if (typeof versionStr !== 'string') throw new Error(`failed to get Helm chart version from release metadata on cluster ${kube.clusterName()}`);
  const all = { ...clusters };
  for (const [n, v] of Object.entries(disabled)) if (!(n in all)) all[n] = v;
  /** @type {any} */
  let raw = all;
  if (cmpVersion(versionStr, '1.20.0') < 0) {
    raw = Object.keys(all).sort().map((n) => ({ ...all[n], name: n }));
  }
  if (!('clustermesh' in values)) values.clustermesh = {};
  if (!isTable(values.clustermesh)) throw new Error(`existing values are invalid for cluster ${kube.clusterName()}`);
  if (!('config' in values.clustermesh)) values.clustermesh.config = {};
  if (!isTable(values.clustermesh.config)) throw new Error(`existing clustermesh.config values are invalid for cluster ${kube.clusterName()}`);
  values.clustermesh.config.enabled = true;
  values.clustermesh.config.clusters = raw;
  if (clustersCA && Object.keys(clustersCA).length > 0) updateCABundle(kube.clusterName(), values, clustersCA);
  await helmUpgrade(kube, { namespace: ctx.namespace, name: ctx.release, version: null, values, warn: warnLog });
}

/** updateCABundleInValues. @param {string} cluster @param {Values} values @param {Record<string,string>} cas */
function updateCABundle(cluster, values, cas) {
  const content = dig(values, 'tls', 'caBundle', 'content');
  const enabled = dig(values, 'tls', 'caBundle', 'enabled');
  if (content !== undefined && typeof content !== 'string') throw new Error(`existing tls.caBundle values are invalid for cluster ${cluster}: .tls.caBundle.content accessor error: ${content} is of the type ${typeof content}, expected string`);
  if (enabled !== undefined && typeof enabled !== 'boolean') throw new Error(`existing tls.caBundle values are invalid for cluster ${cluster}: .tls.caBundle.enabled accessor error: ${enabled} is of the type ${typeof enabled}, expected bool`);
  if (!content && enabled) throw new Error(`existing tls.caBundle values are invalid for cluster ${cluster}: caBundle is enabled but no content was provided`);
  let next = (content ?? '').trim();
  for (const ca of Object.values(cas)) if (!next.includes(ca)) next += `\n${ca}`;
  next = next.trim();
  if ((content ?? '').trim() === next && enabled) return;
  setIn(values, next, 'tls', 'caBundle', 'content');
  setIn(values, true, 'tls', 'caBundle', 'enabled');
  setIn(values, new Date().toISOString().replace(/\.\d+Z$/, 'Z'), 'clustermesh', 'apiserver', 'podAnnotations', 'cilium.io/caBundleChangeRestartedAt');
}

/** @param {Ctx} ctx @param {(l: string) => void} log */
function checkConnectionMode(ctx, log) {
  const mode = ctx.flag('--connection-mode');
  const valid = ['bidirectional', 'mesh', 'unicast'];
  if (valid.includes(mode)) return mode;
  log(`❌ ${mode} is not a correct connection mode.`);
  log(`Available connection modes: ${valid.join(', ')}`);
  throw new Error('Bad connection mode');
}

/** @param {Ctx} ctx */
export async function cmdClustermeshEnable(ctx) {
  const kube = await ctx.client();
  try {
    const flavor = await autodetectFlavor(kube);
    const st = String(ctx.flag('--service-type'));
    /** @type {Values} */
    const vals = { clustermesh: { useAPIServer: true, config: { enabled: true } } };
    if (st === '') {
      const auto = /** @type {Record<string, [string, Record<string,string>]>} */ ({
        GKE: ['🔮 Auto-exposing service within GCP VPC (networking.gke.io/load-balancer-type=Internal)', { 'networking.gke.io/load-balancer-type': 'Internal', 'networking.gke.io/internal-load-balancer-allow-global-access': 'true' }],
        AKS: ['🔮 Auto-exposing service within Azure VPC (service.beta.kubernetes.io/azure-load-balancer-internal)', { 'service.beta.kubernetes.io/azure-load-balancer-internal': 'true' }],
        EKS: ['🔮 Auto-exposing service within AWS VPC (service.beta.kubernetes.io/aws-load-balancer-scheme: internal', { 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internal' }],
      })[flavor.kind];
      if (!auto) throw new Error("cannot auto-detect service type, please specify using '--service-type' option");
      ctx.out(auto[0]);
      vals.clustermesh.apiserver = { service: { type: 'LoadBalancer', annotations: auto[1] } };
    } else {
      if (st === 'NodePort') ctx.out('⚠️  Using service type NodePort may fail when nodes are removed from the cluster!');
      else if (st !== 'LoadBalancer') throw new Error(`service type ${JSON.stringify(st)} is not valid`);
      vals.clustermesh.apiserver = { service: { type: st } };
    }
    vals.clustermesh.apiserver.tls = { auto: { enabled: true, method: 'cronJob', schedule: '0 0 1 */4 *' } };
    if (ctx.p.changed.has('--enable-kvstoremesh')) vals.clustermesh.apiserver.kvstoremesh = { enabled: ctx.flag('--enable-kvstoremesh') };
    await helmUpgrade(kube, { namespace: ctx.namespace, name: ctx.release, version: null, values: vals, reuseValues: true, warn: warnLog });
  } catch (e) {
    throw new Fatal(`Unable to enable ClusterMesh: ${/** @type {Error} */ (e).message}`);
  }
}

/** @param {Ctx} ctx */
export async function cmdClustermeshDisable(ctx) {
  const kube = await ctx.client();
  try {
    const vals = { clustermesh: { useAPIServer: false, config: { enabled: false, clusters: [] } } };
    await helmUpgrade(kube, { namespace: ctx.namespace, name: ctx.release, version: null, values: vals, reuseValues: true, warn: warnLog });
  } catch (e) {
    throw new Fatal(`Unable to disable ClusterMesh: ${/** @type {Error} */ (e).message}`);
  }
}

/**
 * The local Helm release and clients for every --destination-context, as
 * connect and disconnect both read them first.
 * @param {Ctx} ctx @param {Kube} local @param {(l: string) => void} log
 */
async function releaseAndRemotes(ctx, local, log) {
  let localRel;
  try { localRel = await getRelease(local, ctx); } catch (e) {
    log('❌ Unable to find Helm release for the target cluster');
    throw e;
  }
  /** @type {Kube[]} */
  const remotes = [];
  for (const d of ctx.flag('--destination-context')) remotes.push(await remoteClient(ctx, d));
  return { localRel, remotes };
}

/** @param {Ctx} ctx */
export async function cmdClustermeshConnect(ctx) {
  const log = (/** @type {string} */ l) => ctx.out(l);
  const local = await ctx.client();
  try {
    const mode = checkConnectionMode(ctx, log);
    const { localRel, remotes } = await releaseAndRemotes(ctx, local, log);
    const [localOld, localDisabled] = clustersFromValues(localRel.config ?? {});
    /** @type {Record<string, any>} */ const localNew = {};
    /** @type {Record<string, string>} */ const clustersCA = {};
    /** @type {Array<{ kube: Kube, name: string, old: Record<string, any>, disabled: Record<string, any> }>} */
    const remoteStates = [];
    /** @type {string[]} */
    const remoteNames = [];
    /** @param {Kube} c @param {string[]} eps */
    const accessInfo = async (c, eps) => {
      try { return await extractAccessInformation(c, ctx.namespace, eps, true, log); } catch (e) {
        log(`❌ Unable to retrieve access information of cluster ${JSON.stringify(c.clusterName())}: ${/** @type {Error} */ (e).message}`);
        throw e;
      }
    };
    const aiLocal = await accessInfo(local, ctx.flag('--source-endpoint'));
    for (const rc of remotes) {
      remoteNames.push(rc.clusterName());
      const aiRemote = await accessInfo(rc, ctx.flag('--destination-endpoint'));
      validateInfoForConnect(aiLocal, aiRemote);
      if (!caMatch(aiLocal, aiRemote)) {
        if (!ctx.flag('--allow-mismatching-ca')) {
          throw new Error(`Cilium CA certificates do not match between clusters ${aiLocal.clusterName} and ${aiRemote.clusterName}. Use --allow-mismatching-ca to allow this by adding remote CAs to the CA bundle`);
        }
        log(`⚠️ Cilium CA certificates do not match between clusters ${aiLocal.clusterName} and ${aiRemote.clusterName}. Remote cluster CA will be trusted in the CA bundle`);
        if (!(aiLocal.clusterName in clustersCA)) clustersCA[aiLocal.clusterName] = aiLocal.ca.toString('utf8');
        if (!(aiRemote.clusterName in clustersCA)) clustersCA[aiRemote.clusterName] = aiRemote.ca.toString('utf8');
      }
      const [n, entry] = clusterEntry(aiRemote);
      if (n in localNew) throw new Error(`Multiple remote clusters have the same name '${n}'`);
      localNew[n] = entry;
      let remoteRel;
      try { remoteRel = await getRelease(rc, ctx); } catch (e) {
        log('❌ Unable to find Helm release for the remote cluster');
        throw e;
      }
      const [old, disabled] = clustersFromValues(remoteRel.config ?? {});
      remoteStates.push({ kube: rc, name: aiRemote.clusterName, old, disabled });
    }
    const [localName, localEntry] = clusterEntry(aiLocal);
    // connectLocalWithHelm
    log(`ℹ️ Configuring Cilium in cluster ${local.clusterName()} to connect to cluster ${remoteNames.join(',')}`);
    await helmUpgradeClusters(ctx, local, mergeClusters(localOld, localNew, ''), localDisabled, clustersCA);
    // connectRemoteWithHelm
    if (mode !== 'unicast') {
      for (const r of remoteStates) {
        let clusters;
        let names;
        if (mode === 'bidirectional') {
          clusters = mergeClusters(r.old, { [localName]: localEntry }, '');
          names = [local.clusterName()];
        } else {
          clusters = mergeClusters(r.old, { ...localNew, [localName]: localEntry }, r.name);
          names = [...remoteNames, local.clusterName()].filter((x) => x !== r.kube.clusterName());
        }
        log(`ℹ️ Configuring Cilium in cluster ${r.kube.clusterName()} to connect to cluster ${names.join(',')}`);
        await helmUpgradeClusters(ctx, r.kube, clusters, r.disabled, clustersCA);
      }
    }
    if (mode === 'bidirectional') for (const rc of remotes) log(`✅ Connected cluster ${local.clusterName()} <=> ${rc.clusterName()}!`);
    else if (mode === 'mesh') log(`✅ Connected clusters ${remoteNames.join(', ')}, and ${local.clusterName()}!`);
    else for (const rc of remotes) log(`✅ Connected cluster ${local.clusterName()} => ${rc.clusterName()}!`);
  } catch (e) {
    if (e instanceof Fatal) throw e;
    throw new Fatal(`Unable to connect cluster: ${/** @type {Error} */ (e).message}`);
  }
}

/** @param {Ctx} ctx */
export async function cmdClustermeshDisconnect(ctx) {
  const log = (/** @type {string} */ l) => ctx.out(l);
  const local = await ctx.client();
  try {
    if (ctx.flag('--destination-context').length === 0) {
      throw new Error('no destination context specified, use --destination-context to specify which cluster to disconnect from');
    }
    const mode = checkConnectionMode(ctx, log);
    const { localRel, remotes } = await releaseAndRemotes(ctx, local, log);
    /** @param {Kube} c */
    const shallow = async (c) => {
      let cm;
      try { cm = await c.get('ConfigMap', ctx.namespace, 'cilium-config'); } catch (e) {
        throw new Error(`unable to retrieve ConfigMap "cilium-config": ${/** @type {Error} */ (e).message}`);
      }
      const data = cm.data ?? {};
      if (!('cluster-id' in data)) throw new Error('unable to locate key: "cluster-id" in ConfigMap "cilium-config"');
      if (!('cluster-name' in data)) throw new Error('unable to locate key: "cluster-name" in ConfigMap "cilium-config"');
      return { id: data['cluster-id'], name: data['cluster-name'] };
    };
    /** @type {string[]} */
    const remoteNamesAi = [];
    for (const rc of remotes) remoteNamesAi.push((await shallow(rc)).name);
    const drop = (/** @type {Values} */ values, /** @type {string[]} */ names) => {
      const [en, dis] = clustersFromValues(values);
      for (const n of names) { delete en[n]; delete dis[n]; }
      return [en, dis];
    };
    const [localClusters, localDisabled] = drop(localRel.config ?? {}, remoteNamesAi);
    const localAi = await shallow(local);
    const namesToRemove = mode === 'mesh' ? [localAi.name, ...remoteNamesAi] : [localAi.name];
    /** @type {Array<{ kube: Kube, clusters: Record<string, any>, disabled: Record<string, any> }>} */
    const remoteStates = [];
    /** @type {string[]} */
    const remoteNames = [];
    for (const rc of remotes) {
      let rel;
      try { rel = await getRelease(rc, ctx); } catch (e) {
        log('❌ Unable to find Helm release for the remote cluster');
        throw e;
      }
      const [cl, dis] = drop(rel.config ?? {}, namesToRemove);
      remoteStates.push({ kube: rc, clusters: cl, disabled: dis });
      remoteNames.push(rc.clusterName());
    }
    log(`ℹ️ Configuring Cilium in cluster ${local.clusterName()} to disconnect from cluster ${remoteNames.join(',')}`);
    await helmUpgradeClusters(ctx, local, localClusters, localDisabled, null);
    if (mode !== 'unicast') {
      for (const r of remoteStates) {
        const cn = mode === 'mesh' ? [...remoteNames.filter((x) => x !== r.kube.clusterName()), local.clusterName()].join(',') : local.clusterName();
        log(`ℹ️ Configuring Cilium in cluster ${r.kube.clusterName()} to disconnect from cluster ${cn}`);
        await helmUpgradeClusters(ctx, r.kube, r.clusters, r.disabled, null);
      }
    }
    if (mode === 'bidirectional') for (const rc of remotes) log(`✅ Disconnected clusters ${local.clusterName()} <x> ${rc.clusterName()}!`);
    else if (mode === 'mesh') log(`✅ Disconnected clusters ${remoteNames.join(', ')}, and ${local.clusterName()}!`);
    else for (const rc of remotes) log(`✅ Disconnected clusters ${local.clusterName()} x> ${rc.clusterName()}!`);
  } catch (e) {
    throw new Fatal(`Unable to disconnect clusters: ${/** @type {Error} */ (e).message}`);
  }
}

// ---------------------------------------------------------------- status

class NotConnected extends Error {}

/**
 * wait.Observer of the CLI: logs at once then every 10s, retries every 2s until the deadline.
 */
class Observer {
  /** @param {number} deadline @param {(err: string, waited: string) => void} logFn */
  constructor(deadline, logFn) { this.deadline = deadline; this.logFn = logFn; this.started = Date.now(); this.lastWarning = 0; }
  /** @param {Error} err */
  async retry(err) {
    if (Date.now() - this.lastWarning > 10_000) {
      this.logFn(err.message, formatDuration(Math.floor((Date.now() - this.started) / 1000) * 1000));
      this.lastWarning = Date.now();
    }
    const left = this.deadline - Date.now();
    if (left <= 0) throw new Error(`timeout while waiting for condition, last error: ${err.message}`);
    await sleep(Math.min(RETRY_MS, left));
    if (Date.now() >= this.deadline) throw new Error(`timeout while waiting for condition, last error: ${err.message}`);
  }
}

/**
 * @typedef {{ configured: number, connected: number }} ClusterStats
 * @typedef {{ connected: { min: number, avg: number, max: number }, clusters: Record<string, ClusterStats>, total: number, notReady: number, errors: Record<string, Record<string, { errors: Error[] }>> }} Connectivity
 */

const ERR_STATUS_NOT_AVAILABLE = 'ClusterMesh status is not available';
const ERR_KVSTOREMESH_NOT_IMPLEMENTED = 'kvstoremesh-dbg status is not available';

/** remoteClusterStatusToError of the CLI. @param {any} rc a models.RemoteCluster */
function remoteClusterError(rc) {
  if (!rc) return new Error('unknown status');
  if (!rc.connected) return new NotConnected(String(rc.status ?? ''));
  if (!rc.config) return new Error('remote cluster configuration retrieval status unknown');
  if (rc.config.required && !rc.config.retrieved) return new Error(ERR_CONFIG_REQUIRED);
  const sy = rc.synced;
  if (!sy) return new Error('synchronization status unknown');
  if (!(sy.nodes && sy.endpoints && sy.identities && sy.services && (sy['service-exports'] === undefined || sy['service-exports']))) {
    const names = [['endpoints', sy.endpoints ?? false], ['identities', sy.identities ?? false], ['nodes', sy.nodes ?? false], ['services', sy.services ?? false],
      ['service-exports', sy['service-exports']], ['endpoint-slices', sy['endpoint-slices']]].filter(([, v]) => v === false).map(([n]) => n);
    return new Error(`synchronization in progress for ${names.join(', ')}`);
  }
  return new Error('not ready');
}

/** @param {Connectivity} c @param {string} pod @param {string} cluster @param {Error} err */
function addError(c, pod, cluster, err) {
  const m = (c.errors[pod] ??= {});
  (m[cluster] ??= { errors: [] }).errors.push(err);
}

/**
 * The remote clusters one pod reports: an agent's `cilium status -o json` (field
 * cluster-mesh.clusters) or KVStoreMesh's `kvstoremesh-dbg status -o json`.
 * @param {Kube} kube @param {string} ns @param {string} pod @param {'agents'|'kvstoremesh'} which
 * @returns {Promise<Record<string, any>>} by cluster name
 */
async function podClusters(kube, ns, pod, which) {
  /** @type {any[]} */
  let list;
  if (which === 'agents') {
    const out = await execInPod(kube, ns, pod, 'cilium-agent', ['cilium', 'status', '-o', 'json']);
    let st;
    try { st = JSON.parse(out); } catch (e) { throw new Error(`unable to unmarshal response of cilium status: ${/** @type {Error} */ (e).message}`); }
    if (!st?.['cluster-mesh']) throw new Error(ERR_STATUS_NOT_AVAILABLE);
    list = st['cluster-mesh'].clusters ?? [];
  } else {
    const where = `command failed (pod=${ns}/${pod}, container=kvstoremesh)`;
    let r;
    try { r = await execRaw(kube, ns, pod, 'kvstoremesh', ['/usr/bin/clustermesh-apiserver', 'kvstoremesh-dbg', 'status', '-o', 'json']); } catch (e) { throw new Error(`${where}: ${/** @type {Error} */ (e).message}`); }
    if (r.code !== 0) {
      if (/Usage:|unknown command/.test(r.stderr)) throw new Error(ERR_KVSTOREMESH_NOT_IMPLEMENTED);
      throw new Error(`${where}: command terminated with exit code ${r.code}${r.stderr ? `: ${JSON.stringify(r.stderr)}` : ''}`);
    }
    try { list = JSON.parse(r.stdout) ?? []; } catch (e) { throw new Error(`unable to unmarshal response of kvstoremesh-dbg status: ${/** @type {Error} */ (e).message}`); }
  }
  return Object.fromEntries(list.filter(Boolean).map((c) => [String(c.name ?? ''), c]));
}

/**
 * determineStatusConnectivity for agents (secret cilium-clustermesh, pods k8s-app=cilium) or
 * KVStoreMesh (secret cilium-kvstoremesh, pods k8s-app=clustermesh-apiserver), from what
 * each pod reports when exec'd: `configured` counts the pods that report a cluster, a pod
 * missing an expected one is not ready.
 * @param {Kube} kube @param {string} ns @param {string} localName @param {'agents'|'kvstoremesh'} which
 * @returns {Promise<Connectivity>}
 */
async function determineConnectivity(kube, ns, localName, which) {
  /** @type {Connectivity} */
  const stats = { connected: { min: -1, avg: 0, max: 0 }, clusters: {}, total: 0, notReady: 0, errors: {} };
  const secretName = which === 'agents' ? 'cilium-clustermesh' : 'cilium-kvstoremesh';
  let config;
  try { config = await kube.get('Secret', ns, secretName); } catch (e) {
    if (!isNotFound(e)) throw new Error(`unable to retrieve configuration: ${/** @type {Error} */ (e).message}`);
  }
  /** @type {string[]} */
  const expected = [];
  for (const [n, v] of Object.entries(config?.data ?? {})) {
    if (n !== localName && Buffer.from(String(v), 'base64').toString('utf8').includes('endpoints:')) { stats.clusters[n] = { configured: 0, connected: 0 }; expected.push(n); }
  }
  const workload = which === 'agents' ? await getOrNull(kube, 'DaemonSet', ns, 'cilium') : await getOrNull(kube, 'Deployment', ns, 'clustermesh-apiserver');
  const selector = which === 'agents' ? 'k8s-app=cilium' : 'k8s-app=clustermesh-apiserver';
  const pods = await podsFor(kube, ns, selector, workload, which === 'agents' ? 'cilium-agent' : 'kvstoremesh');
  for (const pod of pods) {
    /** @type {Record<string, any>} */
    let clusters;
    try { clusters = await podClusters(kube, ns, pod.name, which); } catch (e) {
      const msg = /** @type {Error} */ (e).message;
      if (expected.length === 0 && msg === ERR_STATUS_NOT_AVAILABLE) continue;
      if (msg === ERR_KVSTOREMESH_NOT_IMPLEMENTED) throw e;
      throw new Error(`unable to determine status of pod ${JSON.stringify(pod.name)}: ${msg}`);
    }
    stats.total++;
    let ready = 0;
    for (const [name, rc] of Object.entries(clusters)) {
      const st = (stats.clusters[name] ??= { configured: 0, connected: 0 });
      st.configured++;
      if (rc.ready) { ready++; st.connected++; } else addError(stats, pod.name, name, remoteClusterError(rc));
    }
    const missing = expected.filter((n) => !(n in clusters));
    for (const n of missing) addError(stats, pod.name, n, new Error('unknown status'));
    if (missing.length || ready !== Object.keys(clusters).length) stats.notReady++;
    if (stats.connected.min < 0 || stats.connected.min > ready) stats.connected.min = ready;
    if (stats.connected.max < ready) stats.connected.max = ready;
    stats.connected.avg += ready;
  }
  if (pods.length > 0) stats.connected.avg /= pods.length;
  return stats;
}

/** Go's %.1f. @param {number} n */
const f1 = (n) => n.toFixed(1);

/** JSON of a ConnectivityStatus with Go's omitempty. @param {Connectivity} c */
function connectivityJson(c) {
  /** @type {Record<string, any>} */
  const connected = {};
  if (c.connected.min) connected.min = c.connected.min;
  if (c.connected.avg) connected.avg = c.connected.avg;
  if (c.connected.max) connected.max = c.connected.max;
  /** @type {Record<string, any>} */
  const o = { connected };
  if (Object.keys(c.clusters).length) {
    o.clusters = Object.fromEntries(Object.keys(c.clusters).sort().map((k) => {
      /** @type {Record<string, number>} */
      const s = {};
      if (c.clusters[k].configured) s.configured = c.clusters[k].configured;
      if (c.clusters[k].connected) s.connected = c.clusters[k].connected;
      return [k, s];
    }));
  }
  if (c.total) o.total = c.total;
  if (c.notReady) o.not_ready = c.notReady;
  if (Object.keys(c.errors).length) {
    o.errors = Object.fromEntries(Object.keys(c.errors).sort().map((pod) => [pod, Object.fromEntries(Object.keys(c.errors[pod]).sort().map((cl) => [
      cl, { Errors: c.errors[pod][cl].errors.map((e) => e.message), Warnings: [], Disabled: false }]))]));
  }
  return o;
}

/** @param {Ctx} ctx */
export async function cmdClustermeshStatus(ctx) {
  const json = ctx.flag('--output') === 'json';
  const log = json ? (/** @type {string} */ l) => ctx.err(l) : (/** @type {string} */ l) => ctx.out(l);
  const wait = ctx.flag('--wait');
  const kube = await ctx.client();
  const ns = ctx.namespace;
  try {
    // GetClusterConfig
    await autodetectFlavor(kube);
    let cm;
    try { cm = await kube.get('ConfigMap', ns, 'cilium-config'); } catch (e) {
      throw new Error(`unable to retrieve ConfigMap "cilium-config": ${/** @type {Error} */ (e).message}`);
    }
    const data = cm.data ?? {};
    const externalKVStore = data['identity-allocation-mode'] !== 'crd';
    const clusterID = data['cluster-id'] || '0';
    const clusterName = data['cluster-name'] || 'default';
    if (clusterID === '0' || clusterName === 'default') {
      log("⚠️  Cluster not configured for clustermesh, use '--set cluster.id' and '--set cluster.name' with 'cilium install'.");
    }
    const deadline = Date.now() + (ctx.flag('--wait-duration') || 15 * 60_000);
    /** @type {Record<string, any>} */
    const s = {};
    let kvEnabled = false;
    if (externalKVStore) {
      log('✅ Cilium is configured with an external kvstore');
    } else {
      // statusAccessInformation
      /** @type {AccessInfo} */
      let ai;
      {
        const w = new Observer(deadline, (err, waited) => log(`⌛ Waiting (${waited}) for access information: ${err}`));
        for (;;) {
          try { ai = await extractAccessInformation(kube, ns, [], false, log); break; } catch (e) {
            if (!wait) throw e;
            await w.retry(/** @type {Error} */ (e));
          }
        }
      }
      s.access_information = accessJson(ai);
      log(`✅ Service "clustermesh-apiserver" of type ${JSON.stringify(ai.serviceType)} found`);
      log('✅ Cluster access information is available:');
      for (const ip of ai.serviceIPs) log(`  - ${ip}:${ai.servicePort}`);
      // statusDeployment
      {
        const w = new Observer(deadline, (err, waited) => log(`⌛ Waiting (${waited}) for deployment clustermesh-apiserver to become ready: ${err}`));
        for (;;) {
          try { await checkDeploymentStatus(kube, ns, 'clustermesh-apiserver'); break; } catch (e) {
            if (!wait) throw new Error(`deployment clustermesh-apiserver is not ready: ${/** @type {Error} */ (e).message}`);
            try { await w.retry(/** @type {Error} */ (e)); } catch (t) {
              throw new Error(`deployment clustermesh-apiserver is not ready: ${/** @type {Error} */ (t).message}`);
            }
          }
        }
      }
      log('✅ Deployment clustermesh-apiserver is ready');
      let deploy;
      try { deploy = await kube.get('Deployment', ns, 'clustermesh-apiserver'); } catch (e) {
        throw new Error(`failed checking whether KVStoreMesh is enabled: ${/** @type {Error} */ (e).message}`);
      }
      kvEnabled = (deploy.spec?.template?.spec?.containers ?? []).some((/** @type {any} */ c) => c.name === 'kvstoremesh');
      log(`ℹ️  KVStoreMesh is ${kvEnabled ? 'enabled' : 'disabled'}`);
    }
    s.kvstoremesh = { enabled: kvEnabled };

    // statusConnectivity
    /** @type {Connectivity | null} */ let agents = null;
    /** @type {Connectivity | null} */ let kv = null;
    /** @type {Error | null} */ let err = null;
    {
      let checkAgents = true;
      let checkKv = kvEnabled;
      const w = new Observer(deadline, (e, waited) => log(`⌛ Waiting (${waited}) for clusters to be connected: ${e}`));
      for (;;) {
        /** @type {Error | null} */ let e1 = null;
        /** @type {Error | null} */ let e2 = null;
        if (checkAgents) {
          try { agents = await determineConnectivity(kube, ns, clusterName, 'agents'); } catch (e) { e1 = /** @type {Error} */ (e); agents = null; }
        }
        if (checkKv) {
          try { kv = await determineConnectivity(kube, ns, clusterName, 'kvstoremesh'); } catch (e) {
            kv = null;
            if (/** @type {Error} */ (e).message === ERR_KVSTOREMESH_NOT_IMPLEMENTED) log('⚠️  KVStoreMesh status retrieval is not supported by this Cilium version');
            else e2 = /** @type {Error} */ (e);
          }
        }
        if (wait) {
          if (!e1 && agents && checkAgents && agents.notReady > 0) e1 = new Error(`${agents.notReady} nodes are not ready`);
          if (!e2 && kv && checkKv && kv.notReady > 0) e2 = new Error(`${kv.notReady} KVStoreMesh replicas are not ready`);
          checkAgents = checkAgents && e1 !== null;
          checkKv = checkKv && e2 !== null;
          const first = e2 ?? e1;
          if (first) {
            try { await w.retry(first); } catch (t) { err = /** @type {Error} */ (t); break; }
            continue;
          }
        }
        err = e2 ?? e1;
        break;
      }
    }
    if (agents) s.connectivity = connectivityJson(agents);
    if (kv) s.kvstoremesh.status = connectivityJson(kv);
    if (json) {
      /** @type {Record<string, any>} */
      const ordered = {};
      if (s.access_information) ordered.access_information = s.access_information;
      if (s.connectivity) ordered.connectivity = s.connectivity;
      ordered.kvstoremesh = s.kvstoremesh;
      ctx.out(goJson(ordered, ' '));
      return;
    }
    if (agents) outputConnectivity(log, ns, agents, kv, kvEnabled);
    if (err) throw err;
  } catch (e) {
    throw new Fatal(`Unable to determine status:  ${/** @type {Error} */ (e).message}`);
  }
}

/** @param {AccessInfo} ai */
function accessJson(ai) {
  /** @type {Record<string, any>} */
  const o = {};
  if (ai.serviceType) o.service_type = ai.serviceType;
  if (ai.serviceIPs.length) o.service_ips = ai.serviceIPs;
  if (ai.servicePort) o.service_port = ai.servicePort;
  if (ai.clusterID) o.cluster_id = ai.clusterID;
  if (ai.clusterName) o.cluster_name = ai.clusterName;
  if (ai.ca.length) o.ca = ai.ca.toString('base64');
  if (ai.tunnel) o.tunnel = ai.tunnel;
  if (ai.maxConnectedClusters) o.max_connected_clusters = ai.maxConnectedClusters;
  return o;
}

/** k8s.Client.CheckDeploymentStatus. @param {Kube} kube @param {string} ns @param {string} name */
async function checkDeploymentStatus(kube, ns, name) {
  const d = await kube.get('Deployment', ns, name);
  const st = d.status ?? {};
  const replicas = st.replicas ?? 0;
  if ((st.observedGeneration ?? 0) !== (d.metadata.generation ?? 0)) throw new Error(`observed generation (${st.observedGeneration ?? 0}) is older than generation of the desired state (${d.metadata.generation ?? 0})`);
  if (replicas === 0) throw new Error('replicas count is zero');
  if ((st.availableReplicas ?? 0) !== replicas) throw new Error(`only ${st.availableReplicas ?? 0} of ${replicas} replicas are available`);
  if ((st.readyReplicas ?? 0) !== replicas) throw new Error(`only ${st.readyReplicas ?? 0} of ${replicas} replicas are ready`);
  if ((st.updatedReplicas ?? 0) !== replicas) throw new Error(`only ${st.updatedReplicas ?? 0} of ${replicas} replicas are up-to-date`);
}

/**
 * outputConnectivityStatus of the CLI.
 * @param {(l: string) => void} log @param {string} ns @param {Connectivity} agents @param {Connectivity | null} kv @param {boolean} kvEnabled
 */
function outputConnectivity(log, ns, agents, kv, kvEnabled) {
  /** @param {Connectivity} st @param {string} comp */
  const ready = (st, comp) => {
    if (st.notReady > 0) log(`⚠️  ${st.notReady}/${st.total} ${comp} are not connected to all clusters [min:${st.connected.min} / avg:${f1(st.connected.avg)} / max:${st.connected.max}]`);
    else if (Object.keys(st.clusters).length > 0) log(`✅ All ${st.total} ${comp} are connected to all clusters [min:${st.connected.min} / avg:${f1(st.connected.avg)} / max:${st.connected.max}]`);
  };
  log('');
  ready(agents, 'nodes');
  if (kv) ready(kv, 'KVStoreMesh replicas');
  log('');
  if (Object.keys(agents.clusters).length > 0) {
    log('🔌 Cluster Connections:');
    for (const cl of Object.keys(agents.clusters).sort()) {
      const st = agents.clusters[cl];
      let line = `  - ${cl}: ${st.configured}/${agents.total} configured, ${st.connected}/${agents.total} connected`;
      if (kv) {
        const k = kv.clusters[cl];
        line += k ? ` - KVStoreMesh: ${k.configured}/${kv.total} configured, ${k.connected}/${kv.total} connected` : ' - KVStoreMesh: status not available';
      }
      log(line);
    }
  } else {
    log('🔌 No cluster connected');
  }
  log('');
  const count = Object.keys(agents.errors).length + (kv ? Object.keys(kv.errors).length : 0);
  if (count === 0) return;
  log(`❌ ${count} Errors:`);
  /** @param {Connectivity['errors']} errs @param {string} container @param {string} cmd @param {boolean} likelyKv */
  const outErrs = (errs, container, cmd, likelyKv) => {
    for (const pod of Object.keys(errs).sort()) {
      for (const [cl, a] of Object.entries(errs[pod])) {
        for (const e of a.errors) {
          log(`  ❌ ${pod} is not connected to cluster ${cl}: ${e.message}`);
          if (e instanceof NotConnected) log(`     💡 Run 'kubectl exec -it -n ${ns} ${pod} -c ${container} -- ${cmd} ${cl}' to investigate the cause`);
          else if (e.message === ERR_CONFIG_REQUIRED) {
            log(likelyKv ? '     💡 This is likely caused by KVStoreMesh not being connected to the given cluster'
              : '     💡 Double check if the cluster name matches the one configured in the remote cluster');
          }
        }
      }
    }
  };
  outErrs(agents.errors, 'cilium-agent', 'cilium-dbg troubleshoot clustermesh', kvEnabled);
  if (kv) outErrs(kv.errors, 'kvstoremesh', '/usr/bin/clustermesh-apiserver kvstoremesh-dbg troubleshoot', false);
}

