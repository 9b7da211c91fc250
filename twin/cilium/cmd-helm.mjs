// @ts-check
// `cilium version`, `install`, `upgrade`, `uninstall`: cilium-cli's cli/install.go,
// install/*.go and cli/version.go flows over the twin's Helm (helm.mjs).
import { Fatal, Returned, autodetectFlavor } from './cli.mjs';
import { CLI_VERSION, DEFAULT_CILIUM_VERSION } from './argv.mjs';
import { mergeValues, mergeMaps, fromYaml, toYaml, dig } from './values.mjs';
import { parseInto } from './strvals.mjs';
import { helmInstall, helmUpgrade, helmUninstall, ReleaseStore } from './helm.mjs';
import { isNotFound } from './kube.mjs';
import { connect } from 'node:net';

/** @typedef {import('./cli.mjs').Ctx} Ctx */

/** Chart versions embedded in cilium-cli v0.19.7 from 1.16 on (github.com/cilium/charts). */
const EMBEDDED = new Set([
  ...range('1.16', 19, [14]), '1.16.0-pre.0', '1.16.0-pre.1', '1.16.0-pre.2', '1.16.0-pre.3', '1.16.0-rc.0', '1.16.0-rc.1', '1.16.0-rc.2',
  ...range('1.17', 17), '1.17.0-pre.0', '1.17.0-pre.1', '1.17.0-pre.2', '1.17.0-pre.3', '1.17.0-rc.0', '1.17.0-rc.1', '1.17.0-rc.2',
  ...range('1.18', 11), '1.18.0-pre.0', '1.18.0-pre.1', '1.18.0-pre.2', '1.18.0-pre.3', '1.18.0-rc.0', '1.18.0-rc.1',
  ...range('1.19', 5), '1.19.0-pre.0', '1.19.0-pre.1', '1.19.0-pre.2', '1.19.0-pre.3', '1.19.0-pre.4', '1.19.0-rc.0', '1.19.0-rc.1',
  '1.20.0-pre.0', '1.20.0-pre.1', '1.20.0-pre.2', '1.20.0-pre.3',
  ...range('1.15', 19), ...range('1.14', 19),
]);

/** @param {string} minor @param {number} maxPatch @param {number[]} [skip] */
function range(minor, maxPatch, skip = []) {
  const out = [];
  for (let i = 0; i <= maxPatch; i++) if (!skip.includes(i)) out.push(`${minor}.${i}`);
  return out;
}

/**
 * blang/semver ParseTolerant + Parse, returning the canonical version string.
 * @param {string} s
 */
export function parseTolerant(s) {
  s = s.trim().replace(/^v/, '');
  const parts = s.split('.');
  const head = parts.length > 3 ? [parts[0], parts[1], parts.slice(2).join('.')] : parts;
  for (let i = 0; i < head.length; i++) {
    let p = head[i];
    if (p.length > 1) {
      p = p.replace(/^0+/, '');
      if (p.length === 0 || !/^[0-9]/.test(p)) p = `0${p}`;
      head[i] = p;
    }
  }
  if (head.length < 3) {
    if (/[+-]/.test(head[head.length - 1])) throw new Error('Short version cannot contain PreRelease/Build meta data');
    while (head.length < 3) head.push('0');
  }
  const v = head.join('.');
  const m = /^([^.]*)\.([^.]*)\.([0-9]*)(.*)$/.exec(v);
  if (!m) throw new Error('No Major.Minor.Patch elements found');
  const names = ['major', 'minor', 'patch'];
  for (let i = 0; i < 3; i++) {
    const x = m[i + 1];
    if (!/^[0-9]+$/.test(x)) throw new Error(`Invalid character(s) found in ${names[i]} number ${JSON.stringify(x)}`);
  }
  if (m[4] && !/^(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(m[4])) throw new Error(`Invalid character(s) found in patch number ${JSON.stringify(m[3] + m[4])}`);
  return `${Number(m[1])}.${Number(m[2])}.${Number(m[3])}${m[4]}`;
}

/** @param {string} v e.g. "1.19.3" @returns {[number, number, number]} */
const triple = (v) => /** @type {[number, number, number]} */ (v.split(/[-+]/)[0].split('.').map(Number));
/** @param {string} a @param {string} b */
export function cmpVersion(a, b) {
  const x = triple(a); const y = triple(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  const pa = a.includes('-'); const pb = b.includes('-');
  return pa === pb ? 0 : pa ? -1 : 1;
}

/**
 * helm.ResolveHelmChartVersion: --version against the charts embedded in the CLI.
 * Errors are returned to cobra (printed bare).
 * @param {Ctx} ctx
 */
function resolveChartVersion(ctx) {
  if (ctx.flag('--chart-directory')) {
    throw new Returned(`failed to load Helm chart directory ${ctx.flag('--chart-directory')}: the twin has no chart directories`);
  }
  let v;
  try { v = parseTolerant(String(ctx.flag('--version'))); } catch (e) { throw new Returned(/** @type {Error} */ (e).message); }
  const repo = ctx.flag('--repository') || 'https://helm.cilium.io';
  if (repo === 'https://helm.cilium.io' && EMBEDDED.has(v)) return v;
  throw new Returned(`chart "cilium" version ${JSON.stringify(v)} not found in ${repo} repository`);
}

/** @param {Ctx} ctx */
function helmOpts(ctx) {
  return {
    valueFiles: ctx.flag('--values'), values: [...ctx.flag('--set')],
    stringValues: ctx.flag('--set-string'), fileValues: ctx.flag('--set-file'),
  };
}

/** Go's log.Printf to stderr (Helm's coalesce warnings). @param {string} m */
function goLog(m) {
  const d = new Date();
  const p = (/** @type {number} */ n) => String(n).padStart(2, '0');
  process.stderr.write(`${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${m}\n`);
}

/**
 * install.K8sInstaller.preinstall + autodetectAndValidate: prints the detection lines and
 * returns the detected kind, cluster name and datapath mode; may append to opts.values.
 * @param {Ctx} ctx @param {import('./kube.mjs').Kube} kube @param {ReturnType<typeof helmOpts>} opts
 * @param {string} version @param {(l: string) => void} log
 */
async function preinstall(ctx, kube, opts, version, log) {
  const helmValues = await mergeValues(opts, fromYaml);
  const flavor = await autodetectFlavor(kube);
  if (flavor.kind !== 'unknown') log(`🔮 Auto-detected Kubernetes kind: ${flavor.kind}`);
  log(`ℹ️  Using Cilium version ${version}`);
  let clusterName = '';
  const fromValues = dig(helmValues, 'cluster', 'name');
  if (typeof fromValues === 'string' && fromValues) clusterName = fromValues;
  if (!clusterName) {
    if (flavor.clusterName) {
      let name = flavor.clusterName;
      if (flavor.kind === 'EKS') name = name.includes(':cluster/') ? name.slice(name.lastIndexOf(':cluster/') + 9) : name.includes('.eksctl.io') ? name.split('.')[0] : name;
      name = name.replace(/[_.:]/g, '-');
      log(`🔮 Auto-detected cluster name: ${name}`);
      clusterName = name;
    }
  } else {
    log(`ℹ️  Using cluster name ${JSON.stringify(clusterName)}`);
  }
  let datapath = String(ctx.flag('--datapath-mode') ?? '');
  if (datapath) log(`ℹ️  Custom datapath mode: ${datapath}`);
  else {
    const rm = dig(helmValues, 'routingMode');
    if (rm === 'native') datapath = 'native';
    else if (rm === 'tunnel') datapath = 'tunnel';
    else datapath = ({ EKS: 'aws-eni', GKE: 'gke', AKS: 'azure' })[/** @type {'EKS'} */ (flavor.kind)] ?? 'tunnel';
  }
  // autodetectKubeProxy: skipped on K3s.
  if (flavor.kind !== 'K3s') {
    let dsList;
    try { dsList = await kube.list('DaemonSet', 'kube-system'); } catch { log('⏭️ Skipping auto kube-proxy detection'); dsList = null; }
    if (dsList) {
      if (dsList.some((d) => d.metadata.name.includes('kube-proxy'))) {
        log('🔮 Auto-detected kube-proxy has been installed');
      } else {
        const { host, port } = kube.apiServerHostPort();
        if (host && port) {
          log('🔮 Auto-detected kube-proxy has not been installed');
          log('ℹ️  Cilium will fully replace all functionalities of kube-proxy');
          /** @param {string} k @param {string} v */
          const setIfUnset = (k, v) => { if (!(k in helmValues)) opts.values.push(`${k}=${v}`); };
          setIfUnset('kubeProxyReplacement', 'true');
          setIfUnset('k8sServiceHost', host);
          setIfUnset('k8sServicePort', port);
        }
      }
    }
  }
  if (ctx.flag('--nodes-without-cilium')) {
    opts.stringValues = [...opts.stringValues,
      'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=cilium.io/no-schedule',
      'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=NotIn',
      'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values[0]=true'];
  }
  return { flavor, clusterName, datapath };
}

/** What a private key is replaced by in printed manifests (valid base64, so the YAML still applies). */
export const REDACTED_KEY = Buffer.from('twin: private key not printed\n').toString('base64');

/**
 * The manifest as --dry-run prints it. The real CLI prints Helm's manifest verbatim; in a
 * client dry run the CA and certificates are freshly generated throwaways, yet the twin
 * still never prints private key material: ca.key / tls.key values are replaced.
 * @param {string} manifest
 */
async function printableManifest(manifest) {
  return manifest.replace(/^(\s+(?:ca|tls)\.key: )\S+$/gm, `$1${REDACTED_KEY}`);
}

/** install.listVersions. @param {Ctx} ctx */
function listVersions(ctx) {
  const all = [...EMBEDDED].sort(cmpVersion).reverse();
  for (const v of all) ctx.out(`v${v}` === DEFAULT_CILIUM_VERSION ? `v${v} (default)` : `v${v}`);
}

/**
 * getLatestStableVersion: the CLI fetches stable.txt from raw.githubusercontent.com
 * (every form of `cilium version`, --client too) with Go's http.Get: no timeout, through
 * HTTPS_PROXY (https_proxy) when set. The twin never leaves 127.0.0.0/8: it answers
 * "unknown", the CLI's answer when that fetch fails, at once without a proxy or one off
 * loopback; a proxy on loopback is asked as the CLI asks it (CONNECT), with no
 * timeout either: one that never answers holds it, one that refuses (port 0) fails it.
 */
function latestStable() {
  const proxy = process.env.HTTPS_PROXY || process.env.https_proxy;
  /** @type {URL} */
  let u;
  try {
    u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(proxy ?? '') ? String(proxy) : `http://${proxy}`);
  } catch {
    return Promise.resolve('unknown');
  }
  if (!proxy || !/^(127\.|localhost$)/.test(u.hostname)) return Promise.resolve('unknown');
  return new Promise((resolve) => {
    const s = connect(Number(u.port || 80), u.hostname);
    const done = () => { s.destroy(); resolve('unknown'); }; // no TLS to GitHub from the twin
    s.on('connect', () => s.write('CONNECT raw.githubusercontent.com:443 HTTP/1.1\r\nHost: raw.githubusercontent.com:443\r\n\r\n'));
    s.on('data', done);
    s.on('error', done);
    s.on('close', done);
  });
}

/** @param {Ctx} ctx */
export async function cmdVersion(ctx) {
  const arch = ({ x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' })[/** @type {'x64'} */ (process.arch)] ?? process.arch;
  ctx.out(`cilium-cli: ${CLI_VERSION} compiled with go1.26.5 on ${process.platform}/${arch}`);
  ctx.out(`cilium image (default): ${DEFAULT_CILIUM_VERSION}`);
  ctx.out(`cilium image (stable): ${await latestStable()}`);
  if (ctx.flag('--client')) return;
  const kube = await ctx.client();
  try {
    await kube.version();
    const rel = await new ReleaseStore(kube, ctx.namespace).last(ctx.release);
    ctx.out(`cilium image (running): ${rel.chart?.metadata?.version}`);
  } catch (e) {
    const m = /** @type {Error} */ (e).message;
    ctx.out(`cilium image (running): unknown. Unable to obtain cilium version. Reason: ${/^Get "/.test(m) ? `Kubernetes cluster unreachable: ${m}` : m}`);
  }
}

/** @param {Ctx} ctx */
export async function cmdInstall(ctx) {
  const dry = ctx.flag('--dry-run') || ctx.flag('--dry-run-helm-values');
  const log = dry ? (/** @type {string} */ _l) => {} : (/** @type {string} */ l) => ctx.out(l);
  const kube = await ctx.client();
  const version = resolveChartVersion(ctx);
  if (ctx.flag('--list-versions')) { listVersions(ctx); return; }
  try {
    const opts = helmOpts(ctx);
    const det = await preinstall(ctx, kube, opts, version, log);
    if (cmpVersion(version, '1.16.0') < 0) throw new Error(`cilium version unsupported ${version}`);
    /** @type {Record<string,string>} */
    const mapOpts = { 'operator.replicas': '1' };
    if (det.flavor.kind === 'kind') mapOpts['ipam.mode'] = 'kubernetes';
    if (det.datapath === 'tunnel') { mapOpts.routingMode = 'tunnel'; mapOpts.tunnelProtocol = 'vxlan'; }
    if (det.clusterName) mapOpts['cluster.name'] = det.clusterName;
    const auto = parseInto(Object.entries(mapOpts).map(([k, v]) => `${k}=${v}`).join(','), {});
    const user = await mergeValues(opts, fromYaml);
    const config = mergeMaps(auto, user);
    const rel = await helmInstall(kube, {
      namespace: ctx.namespace, name: ctx.release, version, config,
      wait: ctx.flag('--wait'), waitMs: ctx.flag('--wait-duration'), dryRun: !!dry,
      maxHistory: ctx.flag('--history-max'), warn: goLog,
    });
    if (ctx.flag('--dry-run')) ctx.out(await printableManifest(rel.manifest ?? ''));
    if (ctx.flag('--dry-run-helm-values')) ctx.out(await toYaml(rel.config ?? {}));
  } catch (e) {
    if (e instanceof Returned || e instanceof Fatal) throw e;
    throw new Fatal(`Unable to install Cilium: ${/** @type {Error} */ (e).message}`);
  }
}

/** @param {Ctx} ctx */
export async function cmdUpgrade(ctx) {
  const dry = ctx.flag('--dry-run') || ctx.flag('--dry-run-helm-values');
  const log = dry ? (/** @type {string} */ _l) => {} : (/** @type {string} */ l) => ctx.out(l);
  const kube = await ctx.client();
  const version = resolveChartVersion(ctx);
  if (ctx.flag('--list-versions')) { listVersions(ctx); return; }
  try {
    const opts = helmOpts(ctx);
    await preinstall(ctx, kube, opts, version, log);
    const values = await mergeValues(opts, fromYaml);
    const rel = await helmUpgrade(kube, {
      namespace: ctx.namespace, name: ctx.release, version, values,
      resetValues: ctx.flag('--reset-values'), reuseValues: ctx.flag('--reuse-values'), resetThenReuseValues: ctx.flag('--reset-then-reuse-values'),
      wait: ctx.flag('--wait'), waitMs: ctx.flag('--wait-duration'), dryRun: !!dry, maxHistory: ctx.flag('--history-max'), warn: goLog,
    });
    if (ctx.flag('--dry-run')) ctx.out(await printableManifest(rel.manifest ?? ''));
    if (ctx.flag('--dry-run-helm-values')) ctx.out(await toYaml(rel.config ?? {}));
    if (!ctx.flag('--restart')) {
      ctx.out('⚠️  You maybe need to restart Cilium pods for configmap changes to take effect');
      return;
    }
    for (const [sel, what] of [['k8s-app=cilium', 'Cilium'], ['io.cilium/app=operator', 'Cilium Operator']]) {
      try {
        for (const pod of await kube.list('Pod', ctx.namespace, { labelSelector: sel })) {
          try { await kube.delete('Pod', ctx.namespace, pod.metadata.name); } catch (e) { if (!isNotFound(e)) throw e; }
        }
      } catch (e) {
        throw new Error(`⚠️  unable to restart ${what} pods: ${/** @type {Error} */ (e).message}`);
      }
    }
    ctx.out('♻️  Force restarted Cilium pods');
  } catch (e) {
    if (e instanceof Returned || e instanceof Fatal) throw e;
    throw new Fatal(`Unable to upgrade Cilium: ${/** @type {Error} */ (e).message}`);
  }
}

/**
 * DeleteTestNamespace of the uninstaller (errors ignored, as in the CLI).
 * @param {Ctx} ctx @param {import('./kube.mjs').Kube} kube
 */
async function deleteTestNamespace(ctx, kube) {
  const ns = ctx.flag('--test-namespace');
  ctx.out(`🔥 Deleting pods in ${ns} namespace...`);
  try {
    for (const pod of await kube.list('Pod', ns)) {
      try { await kube.delete('Pod', ns, pod.metadata.name); } catch { /* ignored */ }
    }
  } catch { /* ignored */ }
  ctx.out(`🔥 Deleting ${ns} namespace...`);
  try { await kube.delete('Namespace', '', ns); } catch { /* ignored */ }
  if (ctx.flag('--wait')) {
    ctx.out(`⌛ Waiting for ${ns} namespace to be terminated...`);
    for (;;) {
      try { await kube.get('Namespace', '', ns); } catch { break; }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

/** @param {Ctx} ctx */
export async function cmdUninstall(ctx) {
  const kube = await ctx.client();
  await deleteTestNamespace(ctx, kube);
  if (ctx.flag('--wait')) {
    ctx.out('⌛ Waiting to disable Hubble before uninstalling Cilium');
    try {
      await helmUpgrade(kube, {
        namespace: ctx.namespace, name: ctx.release, version: null,
        values: { hubble: { relay: { enabled: false }, ui: { enabled: false } } }, reuseValues: true,
        wait: true, waitMs: 5 * 60_000, warn: goLog,
      });
    } catch (e) {
      ctx.out(`⚠ ️ Failed to disable Hubble prior to uninstalling Cilium: ${/** @type {Error} */ (e).message}`);
    }
    // As the CLI: then waits for the hubble-relay pods to go, every 2 s, with no deadline
    // (forever when the upgrade above failed and left them running).
    for (;;) {
      let pods;
      try { pods = await kube.list('Pod', ctx.namespace, { labelSelector: 'k8s-app=hubble-relay' }); } catch (e) {
        if (isNotFound(e)) break;
        throw new Fatal(`Unable to list pods waiting for hubble-relay to stop: ${/** @type {Error} */ (e).message}`);
      }
      if (pods.length === 0) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  ctx.out('⌛ Uninstalling Cilium');
  await deleteTestNamespace(ctx, kube);
  try {
    await helmUninstall(kube, { namespace: ctx.namespace, name: ctx.release, wait: ctx.flag('--wait'), timeoutMs: ctx.flag('--timeout') });
  } catch (e) {
    throw new Fatal(`Unable to uninstall Cilium:  ${/** @type {Error} */ (e).message}`);
  }
  ctx.out('🔥 Cleaning up Cilium node annotations...');
  try {
    for (const node of await kube.list('Node', '')) {
      const ann = node.metadata.annotations ?? {};
      const drop = Object.keys(ann).filter((k) => k.startsWith('io.cilium.') || k.startsWith('cilium.io/'));
      if (drop.length === 0) continue;
      ctx.out(`  Removing annotations from node ${node.metadata.name}`);
      for (const k of drop) delete ann[k];
      node.metadata.annotations = ann;
      await kube.replace(node);
    }
  } catch (e) {
    ctx.out(`Failed to clean up node annotations: ${/** @type {Error} */ (e).message}`);
  }
}

