// @ts-check
// The echo app with its global Service (step 08), and the check that each
// cluster's VIP answers with the page it should.
import { kubectl, duration, withOpts } from './commands.mjs';
import { applyManifest } from './apply.mjs';
import { echoApp, POOL_RESOURCE, APP_POOL } from './manifests.mjs';
import { getObjects, lbIp } from './probes.mjs';
import { fetchPage, expectedPages, pageOf, curlLine, bashWaitForPage } from './http.mjs';
import { expBackoff } from 'zx';
import { sleep } from './runtime.mjs';
import { assignIp } from './shell.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./actions.js').Action} Action */
/** @typedef {import('./runtime.mjs').Runtime} Runtime */

/** The jsonpath of a Service's LoadBalancer IP. */
export const LB_IP_PATH = '{.status.loadBalancer.ingress[0].ip}';

/**
 * Step 08's actions: echo deployed on both clusters, then each VIP's answer.
 * Both deployments come first: with affinity remote a VIP answers from the
 * other cluster's pods, which must exist by then.
 * @param {Config} config
 * @returns {Action[]}
 */
export function echoSteps(config) {
  const per = config.clusters.map((c) => echoActions(config, c));
  return [...per.map((p) => p.deploy), ...per.map((p) => p.vip)];
}

/**
 * Deploys echo on one cluster and checks its VIP. The two actions share what the
 * first one read, so a finished step costs one kubectl call per cluster.
 * @param {Config} config
 * @param {ClusterConfig} c
 * @returns {{ deploy: Action, vip: Action }}
 */
export function echoActions(config, c) {
  const { namespace: ns, name } = config.echo;
  // The Service's IP as the apply check read it. The executor starts both checks
  // at once; the VIP check waits for the apply check's read instead of making
  // its own, and reads again only when that found no IP.
  /** @type {(ip: string) => void} */
  let tell = () => {};
  /** @type {Promise<string>} */
  const seenIp = new Promise((resolve) => { tell = resolve; });
  const seen = { ip: '' };
  const lbWait = withOpts(kubectl(c, 'wait', '-n', ns, `--for=jsonpath=${LB_IP_PATH}`, `svc/${name}`, `--timeout=${duration(config.timeouts.resources)}`),
    { wait: { what: `a LoadBalancer IP for ${name} on ${c.context}`, timeout: config.timeouts.resources } });
  const deploy = applyManifest({
    title: `Echo app (${c.echoImage}) and global Service ${ns}/${name} on ${c.context}`,
    cluster: c,
    manifest: echoApp(config, c),
    namespace: ns,
    missingKind: `${c.context} does not serve Cilium's pool kinds yet: run steps 01–05 first.`,
    requires: [{
      ref: `${POOL_RESOURCE}/${APP_POOL}`, key: `ciliumloadbalancerippool/${APP_POOL}`,
      missing: `the app pool is missing on ${c.context}: run step 05 (npm run 05) first.`,
    }],
    seen: (live) => tell(lbIp(live?.get(`service/${name}`))),
    verify: [
      withOpts(kubectl(c, 'rollout', 'status', '-n', ns, `deployment/${name}`, `--timeout=${duration(config.timeouts.rollout)}`),
        { wait: { what: `deployment/${name} on ${c.context}`, timeout: config.timeouts.rollout } }),
      lbWait,
    ],
  });
  /** @param {import('./runtime.mjs').Runtime} rt */
  const serviceIp = async (rt) => lbIp((await getObjects(rt, c, ns, [`svc/${name}`])).get(`service/${name}`));
  const wanted = expectedPages(config, c);
  const port = config.echo.servicePort;
  /** The Service as it is now: its IP, or null when it does not exist. @param {Runtime} rt */
  const readService = async (rt) => {
    const svc = (await getObjects(rt, c, ns, [`svc/${name}`])).get(`service/${name}`);
    return svc ? lbIp(svc) : null;
  };
  const notDeployed = `echo is not deployed on ${c.context} yet: no Service ${ns}/${name} (step 08 deploys it)`;
  return { deploy, vip: {
    title: `${c.context}'s echo VIP answers with ${wanted.map((p) => `"${p}"`).join(' or ')}`,
    cluster: c,
    async check(rt) {
      const ip = (await seenIp) || await readService(rt);
      // No Service (a dry run, or status while step 08 is partly done): nothing to ask yet.
      if (ip === null) return { state: 'todo', detail: notDeployed, data: { missing: true } };
      seen.ip = ip;
      // No IP yet (a run stopped before LB-IPAM answered): verify waits for it.
      if (!seen.ip) return { state: 'verify', detail: `Service ${ns}/${name} has no LoadBalancer IP yet` };
      const page = await fetchPage(seen.ip, port, config.timeouts.http);
      if (rt.verbose || rt.mode === 'dry-run') rt.announceProbe(curlLine(seen.ip, port, config.timeouts.http));
      if (page.ok && wanted.includes(pageOf(config, page.body))) return { state: 'done', detail: `${seen.ip} → ${pageOf(config, page.body)}` };
      return { state: 'verify', detail: page.ok ? `${seen.ip} answered ${JSON.stringify(page.body.slice(0, 60))}` : `${seen.ip}: ${page.error}` };
    },
    async verifyRun(rt, check) {
      // Checked before the deploy ran (it is checked afresh after a change): say what is missing, not kubectl's error.
      if (check.state === 'todo' && check.data?.missing && (await readService(rt)) === null) throw new Error(notDeployed);
      if (!seen.ip) {
        await rt.exec(lbWait);
        seen.ip = await serviceIp(rt);
      }
      rt.announce(curlLine(seen.ip, port, config.timeouts.http));
      const deadline = Date.now() + config.timeouts.resources * 1000;
      return rt.withWait(`${c.context}'s VIP ${seen.ip} to answer`, config.timeouts.resources, async () => {
        for (const delay of expBackoff(3000, 250)) {
          const page = await fetchPage(seen.ip, port, config.timeouts.http);
          const got = page.ok ? pageOf(config, page.body) : '';
          if (wanted.includes(got)) return `${seen.ip} → ${got}`;
          if (Date.now() > deadline) {
            throw new Error(`${c.context}'s VIP ${seen.ip}:${port} did not answer with ${wanted.join(' or ')} within ${config.timeouts.resources}s; ` +
              `last: ${page.ok ? `HTTP ${page.status} ${JSON.stringify(page.body.slice(0, 80))}` : page.error}`);
          }
          await sleep(delay, rt.signal);
        }
      });
    },
    transcript: [
      assignIp(kubectl(c, 'get', 'svc', '-n', ns, name, '-o', `jsonpath=${LB_IP_PATH}`)),
      ...bashWaitForPage('$ip', port, config.timeouts.resources, config.timeouts.http, wanted),
    ],
    statusLabel: `${c.context}'s echo VIP`,
  } };
}
