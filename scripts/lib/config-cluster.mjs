// @ts-check
// One cluster's settings: its context and API server (from the kubeconfig or
// step 00's K3s inputs), name and ID, networks and echo page, checked against
// cluster A's where both must differ.
import { parseIPv4, formatIPv4, formatCidr, NetError, isIPv6, isLoopbackHost, isUnspecifiedHost } from './net.mjs';
import { serverHostPort } from './kubeconfig-read.mjs';
import { isSimpleName } from './k3s-kubeconfig.mjs';
import { contextServer } from './config-kubeconfig.mjs';
import { q } from './config-parsers.mjs';

/** @typedef {import('./types.d.ts').ClusterConfig} ClusterConfig */
/** @typedef {import('./types.d.ts').ClusterKey} ClusterKey */
/** @typedef {import('./net.mjs').IPv4Cidr} IPv4Cidr */
/** @typedef {import('./net.mjs').IPv4Range} IPv4Range */
/** @typedef {import('./k3s-kubeconfig.mjs').K3sFileInfo} K3sFileInfo */
/** @typedef {import('./config-reader.mjs').Reader} Reader */
/** @typedef {{ pod: IPv4Cidr | null, service: IPv4Cidr | null, mesh: number | null, pool: IPv4Range | null, contextCluster: string | undefined }} Nets */

const HOSTNAME_RE = /^(?=.{1,253}\.?$)[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*\.?$/;

/**
 * @param {Reader} r
 * @param {ClusterKey} key
 * @param {object} ctx
 * @param {boolean} ctx.k3sMode        step 00's K3s kubeconfigs are given
 * @param {Partial<Record<ClusterKey, K3sFileInfo>>} ctx.k3sFiles
 * @param {Map<string, { server: string | null, cluster?: string }> | null} ctx.contexts  null when the kubeconfig is unreadable
 * @param {string} ctx.kubeconfig      the resolved paths, for messages
 * @param {boolean} ctx.meshLb         the mesh IP is read (not NodePort)
 * @param {ClusterConfig} [ctx.a]      cluster A, when reading B
 * @returns {{ cluster: ClusterConfig, nets: Nets }}
 */
export function readCluster(r, key, { k3sMode, k3sFiles, contexts, kubeconfig, meshLb, a }) {
  const { problem, value, required, read } = r;
  const label = key === 'a' ? 'A' : 'B';
  const V = (/** @type {string} */ s) => `CLUSTER_${label}_${s}`;

  // context and its server
  const context = required(V('CONTEXT'));
  let server = '';
  /** @type {string | undefined} */
  let contextCluster;
  if (a && context !== null && context === a.context) {
    problem(V('CONTEXT'), `is ${q(context ?? '')}, the same context as CLUSTER_A_CONTEXT; each cluster needs its own context`);
  } else if (k3sMode) {
    // The context need not exist yet: step 00 creates it, with this name for its cluster and user too.
    if (context !== null && !isSimpleName(context)) {
      problem(V('CONTEXT'), `${q(context)}: step 00 writes this name for the context, cluster and user of ${V('K3S_KUBECONFIG')}; use letters, digits, '.', '_' and '-', starting with a letter (like cluster-${key})`);
    }
  } else if (context !== null && contexts) {
    ({ server, cluster: contextCluster } = contextServer(r, V('CONTEXT'), context, contexts, kubeconfig));
  }

  // k8sServiceHost / k8sServicePort: explicit, or from the context's server URL
  let apiHost = value(V('API_HOST'));
  const apiPortText = value(V('API_PORT'));
  let apiPort = 0;
  const fromUrl = server !== '' ? serverHostPort(server) : null;
  if (apiHost !== '') {
    checkHost(r, V('API_HOST'), apiHost, V('API_PORT'));
  } else if (k3sMode) {
    const k3sServer = k3sFiles[key]?.server ?? 'https://127.0.0.1:6443';
    const at = serverHostPort(k3sServer);
    const loopback = !at || isLoopbackHost(at.host) || isUnspecifiedHost(at.host);
    problem(
      V('API_HOST'),
      `is empty, but with ${V('K3S_KUBECONFIG')} set it must be given: the K3s kubeconfig points at ${k3sServer}${loopback ? ', a loopback address,' : ''} and step 00 writes https://<${V('API_HOST')}>:<${V('API_PORT')}> in its place (which Cilium uses too). ` +
        `Set it to the K3s server's address every node can reach (its LAN IP)`,
    );
  } else if (server !== '') {
    if (!fromUrl) {
      problem(V('API_HOST'), `is empty and the server of context ${q(context ?? '')} (${q(server)}) is not an http(s) URL to take it from; set ${V('API_HOST')} and ${V('API_PORT')}`);
    } else if (isLoopbackHost(fromUrl.host) || isUnspecifiedHost(fromUrl.host)) {
      problem(
        V('API_HOST'),
        `is empty, so it comes from the kubeconfig: context ${q(context ?? '')} has server ${server}, a loopback address that other nodes cannot reach. ` +
          `A K3s kubeconfig points at 127.0.0.1; set ${V('API_HOST')} to the server's address (its LAN IP, as in the edited kubeconfig)`,
      );
    } else {
      apiHost = fromUrl.host;
    }
  }
  if (apiPortText !== '') apiPort = read(V('API_PORT')) ?? 0;
  else if (k3sMode) apiPort = 6443; // K3s's port
  else if (fromUrl) apiPort = fromUrl.port;
  else if (server !== '' && apiHost !== '') {
    problem(V('API_PORT'), `is empty and the server of context ${q(context ?? '')} (${q(server)}) is not an http(s) URL to take it from; set ${V('API_PORT')}`);
  }

  // the server step 00 writes into the kubeconfig: the API host, or where this machine reaches it
  const kubeServer = value(V('KUBECONFIG_SERVER'));
  if (kubeServer !== '' && !k3sMode) {
    problem(V('KUBECONFIG_SERVER'), `is set but ${V('K3S_KUBECONFIG')} is not: only step 00 writes the kubeconfig, so it would have no effect; set both, or leave it empty`);
  } else if (kubeServer !== '') {
    const hp = serverHostPort(kubeServer);
    if (!hp || !kubeServer.startsWith('https://')) {
      problem(V('KUBECONFIG_SERVER'), `${q(kubeServer)} is not an https URL; give the address this machine reaches cluster ${label}'s API server at, like https://127.0.0.1:16443 through an SSH tunnel`);
    } else if (isUnspecifiedHost(hp.host)) {
      problem(V('KUBECONFIG_SERVER'), `${q(kubeServer)} has the unspecified address, which nothing can connect to; give the address this machine reaches cluster ${label}'s API server at`);
    } else {
      server = kubeServer;
    }
  } else if (k3sMode && apiHost !== '' && apiPort !== 0) {
    server = `https://${isIPv6(apiHost) ? `[${apiHost}]` : apiHost}:${apiPort}`;
  }
  // A context of that name for another server would be used by steps 01-09, and step 00 does not replace it.
  const existing = k3sMode && context !== null && server !== '' ? contexts?.get(context) : undefined;
  if (existing?.server && existing.server !== server) {
    problem(
      V('CONTEXT'),
      `KUBECONFIG already has context ${q(context ?? '')} for the API server ${existing.server}, not ${server}, which step 00 writes for ${V('K3S_KUBECONFIG')}; ` +
        `step 00 does not replace it: if it is stale, remove it (kubectl config delete-context ${context}, and delete-cluster and delete-user for its entries), or give this cluster another name`,
    );
  }

  // name and ID, unique in the mesh
  /** @type {string | null} */
  const name = read(V('NAME'));
  if (a && name !== null && name === a.name) {
    problem(V('NAME'), `is ${q(name)}, the same as CLUSTER_A_NAME; cluster names must be unique in the mesh`);
  }
  /** @type {number | null} */
  const id = read(V('ID'));
  if (a && id !== null && id === a.id) {
    problem(V('ID'), `is ${id}, the same as CLUSTER_A_ID; each cluster needs its own ID (1–255; 0 means "not part of a mesh")`);
  }

  // networks
  /** @type {IPv4Cidr | null} */
  const pod = read(V('POD_CIDR'));
  /** @type {IPv4Cidr | null} */
  const service = read(V('SERVICE_CIDR'));
  /** @type {number | null} */
  const mesh = meshLb ? read(V('MESH_IP')) : null;
  /** @type {number | null} */
  const start = read(V('APP_POOL_START'));
  /** @type {number | null} */
  const stop = read(V('APP_POOL_STOP'));
  /** @type {IPv4Range | null} */
  let pool = null;
  if (start !== null && stop !== null) {
    if (start > stop) {
      problem(V('APP_POOL_START'), `${formatIPv4(start)} comes after ${V('APP_POOL_STOP')} (${formatIPv4(stop)}); the pool runs from start to stop`);
    } else {
      pool = { start, end: stop };
    }
  }

  // the echo app's image and page text, which tells the clusters apart
  /** @type {string | null} */
  const echoImage = read(V('ECHO_IMAGE'));
  /** @type {string | null} */
  const echoPage = read(V('ECHO_PAGE'));
  if (a && echoPage !== null && a.echoPage !== '') {
    if (echoPage === a.echoPage) {
      problem(V('ECHO_PAGE'), `is ${q(echoPage)}, the same as CLUSTER_A_ECHO_PAGE; the checks tell the clusters apart by this text`);
    } else if (echoPage.includes(a.echoPage) || a.echoPage.includes(echoPage)) {
      problem(V('ECHO_PAGE'), `${q(echoPage)} and CLUSTER_A_ECHO_PAGE (${q(a.echoPage)}) contain one another, so a page could match both; the checks tell the clusters apart by this text`);
    }
  }

  /** @type {ClusterConfig} */
  const cluster = {
    key,
    label,
    context: context ?? '',
    name: name ?? '',
    id: id ?? 0,
    podCidr: pod ? formatCidr(pod) : '',
    serviceCidr: service ? formatCidr(service) : '',
    apiHost,
    apiPort,
    server,
    meshIp: mesh !== null ? formatIPv4(mesh) : '',
    appPool: { start: start !== null ? formatIPv4(start) : '', stop: stop !== null ? formatIPv4(stop) : '' },
    echoImage: echoImage ?? '',
    echoPage: echoPage ?? '',
  };
  return { cluster, nets: { pod, service, mesh, pool, contextCluster } };
}

/**
 * Checks an explicitly given API host: a host name or IP address, without
 * scheme, brackets or port, that other nodes can reach.
 * @param {Reader} r
 * @param {string} variable
 * @param {string} host
 * @param {string} portVariable
 */
function checkHost({ problem }, variable, host, portVariable) {
  const fixHint = `set ${variable} to the server's address every node can reach (its LAN IP)`;
  if (host.includes('://')) {
    const hp = serverHostPort(host);
    problem(variable, `${q(host)} is a URL; give the host alone${hp ? ` (${hp.host})` : ''} and the port in ${portVariable}`);
  } else if (host.startsWith('[') && host.endsWith(']') && isIPv6(host)) {
    problem(variable, `${q(host)}: write an IPv6 address without brackets (${host.slice(1, -1)})`);
  } else if (isIPv6(host)) {
    if (isLoopbackHost(host)) problem(variable, `${q(host)} is the loopback address, which other nodes cannot reach; ${fixHint}`);
    else if (isUnspecifiedHost(host)) problem(variable, `${q(host)} is the unspecified address, which no node can connect to; ${fixHint}`);
  } else if (/^[^:]+:\d*$/.test(host)) {
    problem(variable, `${q(host)} has a port; give the host alone (${host.split(':')[0]}) and the port in ${portVariable}`);
  } else if (/^[0-9.]+$/.test(host)) {
    try {
      parseIPv4(host);
      if (isLoopbackHost(host)) {
        problem(variable, `${q(host)} is a loopback address: Cilium on other nodes would try to reach the API server on themselves. A K3s kubeconfig points at 127.0.0.1; ${fixHint}`);
      } else if (isUnspecifiedHost(host)) {
        problem(variable, `${q(host)} is the unspecified address, which no node can connect to; ${fixHint}`);
      }
    } catch (err) {
      problem(variable, err instanceof NetError ? err.message : String(err));
    }
  } else if (!HOSTNAME_RE.test(host)) {
    problem(variable, `${q(host)} is not a host name or IP address`);
  } else if (isLoopbackHost(host)) {
    problem(variable, `${q(host)} names this machine itself (localhost), which other nodes cannot reach. A K3s kubeconfig points at 127.0.0.1; ${fixHint}`);
  }
}
