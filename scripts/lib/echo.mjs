// @ts-check
// How step 08 knows where echo stands: the echo objects as one read (the
// namespace, Deployment, Service and the app pool they need), whether they are
// as the manifest says, and whether a VIP answers with its page. The commands
// are in the step file; this is probing and waiting.
import { getObjects, lbIp } from './probes.mjs';
import { applyDiff, keyOf, unknownKind } from './apply.mjs';
import { ToolError } from './runtime.mjs';
import { POOL_CRD, APP_POOL, AFFINITY_NOTE, Manifest } from './manifests.mjs';
import { pageOf, pollPages } from './http.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./actions.js').CheckResult} CheckResult */
/** @typedef {import('./actions.js').Command} Command */
/** @typedef {import('./runtime.mjs').Runtime} Runtime */
/** @typedef {import('./http.mjs').Curl} Curl */
/** @typedef {import('./http.mjs').Poll} Poll */

/**
 * The echo manifest with a comment above its Service saying what the affinity
 * (ECHO_AFFINITY) does.
 * @param {Manifest} m
 * @param {Config['echo']['affinity']} affinity
 */
export function withAffinityNote(m, affinity) {
  const docs = m.yaml.split('---\n').map((d) => (/^kind: Service$/m.test(d) ? d.replace(/^apiVersion:/m, `${AFFINITY_NOTE[affinity]}apiVersion:`) : d));
  return new Manifest(m.name, docs.join('---\n'));
}

/**
 * Echo's objects on a cluster, and the app pool, in one kubectl call. Both of
 * step 08's checks make this same call, so when they run together they share
 * its answer (the runtime's read sharing).
 * @param {Runtime} rt
 * @param {Config} config
 * @param {ClusterConfig} c
 * @returns {Promise<Map<string, any>>}
 */
export function echoObjects(rt, config, c) {
  const { namespace: ns, name } = config.echo;
  return getObjects(rt, c, ns, [`namespace/${ns}`, `deployment/${name}`, `service/${name}`, `${POOL_CRD}/${APP_POOL}`]);
}

/**
 * echoObjects, or none while the cluster does not serve the pool kinds yet.
 * @param {Runtime} rt @param {Config} config @param {ClusterConfig} c
 * @returns {Promise<Map<string, any>>}
 */
const echoObjectsIfServed = (rt, config, c) => echoObjects(rt, config, c).catch((err) => {
  if (unknownKind(err)) return new Map();
  throw err;
});

/**
 * Step 08's deploy check: done when the objects hold every field the manifest
 * sets (as `kubectl apply` leaves them) and the Service has its LoadBalancer
 * IP; 'verify' when only the IP is missing; blocked without the app pool.
 * @param {Runtime} rt
 * @param {Config} config
 * @param {ClusterConfig} c
 * @param {Manifest} manifest
 * @returns {Promise<CheckResult>}
 */
export async function echoApplied(rt, config, c, manifest) {
  let live;
  try {
    live = await echoObjects(rt, config, c);
  } catch (err) {
    if (unknownKind(err)) return { state: 'blocked', message: `${c.context} does not serve Cilium's pool kinds yet: run steps 01–05 first.` };
    throw err;
  }
  if (!live.has(`ciliumloadbalancerippool/${APP_POOL}`)) {
    return { state: 'blocked', message: `the app pool is missing on ${c.context}: run step 05 (npm run 05) first.` };
  }
  const diffs = manifest.objects.flatMap((o) => applyDiff(o, live.get(keyOf(o))));
  if (diffs.length) return { state: 'todo', detail: diffs.slice(0, 3).join('; ') + (diffs.length > 3 ? ` (+${diffs.length - 3} more)` : '') };
  // Applied, but a run stopped before LB-IPAM answered: the verify waits for the IP.
  if (!lbIp(live.get(`service/${config.echo.name}`))) return { state: 'verify', detail: 'in place' };
  return { state: 'done', detail: 'in place' };
}

/** @param {Config} config @param {ClusterConfig} c */
const notDeployed = (config, c) =>
  `echo is not deployed on ${c.context} yet: no Service ${config.echo.namespace}/${config.echo.name} (step 08 deploys it)`;

/**
 * Step 08's VIP check: done when one request to the VIP shows one of `pages`.
 * @param {Runtime} rt
 * @param {Config} config
 * @param {ClusterConfig} c
 * @param {string[]} pages
 * @param {(ip: string) => Curl} ask
 * @returns {Promise<CheckResult>}
 */
export async function vipAnswers(rt, config, c, pages, ask) {
  const { namespace: ns, name } = config.echo;
  const live = await echoObjectsIfServed(rt, config, c);
  const svc = live.get(`service/${name}`);
  // No Service (a dry run, or status while step 08 is partly done): nothing to ask yet.
  if (!svc) return { state: 'todo', detail: notDeployed(config, c) };
  const ip = lbIp(svc);
  // No IP yet (a run stopped before LB-IPAM answered): step 08's deploy waits for it.
  if (!ip) return { state: 'verify', detail: `Service ${ns}/${name} has no LoadBalancer IP yet` };
  const req = ask(ip);
  const page = await req.fetch();
  if (rt.verbose || rt.mode === 'dry-run') rt.announceProbe(req.line);
  const got = page.ok ? pageOf(config, page.body) : '';
  if (page.ok && pages.includes(got)) return { state: 'done', detail: `${ip} → ${got}` };
  return { state: 'verify', detail: page.ok ? `${ip} answered ${JSON.stringify(page.body.slice(0, 60))}` : `${ip}: ${page.error}`, data: { ip } };
}

/**
 * The VIP of a Service, read with `getIp` (kubectl get svc … -o jsonpath=…).
 * @param {Runtime} rt
 * @param {Config} config
 * @param {ClusterConfig} c
 * @param {Command} getIp
 */
export async function serviceIp(rt, config, c, getIp) {
  const ip = await rt.probe(getIp).then((r) => r.stdout.trim(), (err) => {
    throw err instanceof ToolError && /NotFound|not found/.test(err.stderr) ? new Error(notDeployed(config, c)) : err;
  });
  if (!ip) throw new Error(`Service ${config.echo.namespace}/${config.echo.name} on ${c.context} has no LoadBalancer IP`);
  return ip;
}

/**
 * Step 08's VIP wait: asks the VIP as `poll` says until it shows one of `pages`.
 * The IP is the one the check read, or read with `getIp` when it had none.
 * @param {Runtime} rt
 * @param {Config} config
 * @param {ClusterConfig} c
 * @param {CheckResult} check vipAnswers' answer
 * @param {{ getIp: Command, ask: (ip: string) => Curl, pages: string[], poll: Poll }} how
 * @returns {Promise<string>} the result line's detail: "<ip> → <page>"
 */
export async function vipAnswered(rt, config, c, check, { getIp, ask, pages, poll }) {
  const ip = (check.state === 'verify' && check.data?.ip) || await serviceIp(rt, config, c, getIp);
  rt.announce(ask(ip).line);
  const { page } = await pollPages(rt, `${c.context}'s VIP ${ip}`, ask(ip), pages, poll);
  return `${ip} → ${page}`;
}
