// @ts-check
// Bad input through the real scripts against a live twin: every broken
// configuration (a table, one row per validation rule and more), a missing env
// file or kubeconfig, and kubectl or cilium missing from PATH, must end with
// exit 2 and a message naming the variable or the tool — before anything runs:
// the twin's API servers see zero requests and the cilium stand-in is never
// started. One twin serves all rows (nothing may touch it); the runs go one at a
// time so each row's request count is its own.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import YAML from 'yaml';
import { e2eTwin } from '../support/e2e.mjs';
import { which } from 'zx';
import { twinEnv } from '../../twin/runbook-env.mjs';

/** @typedef {import('../support/e2e.mjs').E2E} E2E */
/** @typedef {import('../support/e2e.mjs').RunResult} RunResult */

/**
 * @typedef {object} Row
 * @property {string} name
 * @property {Record<string, string>} [vars] env-file lines on top of the twin's (a value is written as is, quotes included)
 * @property {(h: E2E, dir: string) => Record<string, string | undefined>} [env] process environment on top of the harness's
 * @property {'no-cilium' | 'no-kubectl' | 'neither'} [path] a PATH without that tool
 * @property {RegExp} expect a line of stderr naming the variable or the tool
 * @property {Array<[string, string[]]>} [also] more runs besides all.mjs: [script, args]
 */

/** @param {string} ip e.g. "254.220" → the twin's "127.N.254.220" */
const inNet = (ip) => (/** @type {E2E} */ h) => `${h.net}.${ip}`;

/**
 * Rows whose values depend on the twin's network are functions of it.
 * @type {Array<Omit<Row, 'vars'> & { vars?: Record<string, string | ((h: E2E) => string)> }>}
 */
const ROWS = [
  // typos and spelling
  { name: 'a typo in a variable name (CLUSTER_A_MESHIP)', vars: { CLUSTER_A_MESHIP: '10.0.0.1' },
    expect: /^CLUSTER_A_MESHIP: unknown variable .*did you mean CLUSTER_A_MESH_IP\?/m, also: [['04-mesh-pools.mjs', []]] },
  { name: 'a lower-case variable name', vars: { cluster_a_id: '3' }, expect: /^cluster_a_id: unknown variable .*names are upper case/m },
  { name: 'a misspelt timeout (TIMEOUT_ROLOUT)', vars: { TIMEOUT_ROLOUT: '3m' }, expect: /^TIMEOUT_ROLOUT: .*did you mean TIMEOUT_ROLLOUT\?/m },
  { name: 'a leading space in a quoted value', vars: { CLUSTER_A_NAME: '" cluster-a"' }, expect: /^CLUSTER_A_NAME: .*whitespace at the start or end/m },
  { name: 'a trailing space in a quoted value', vars: { ECHO_NAMESPACE: '"echo "' }, expect: /^ECHO_NAMESPACE: .*whitespace at the start or end/m,
    also: [['08-deploy-echo.mjs', ['--dry-run']]] },
  { name: 'an empty required value', vars: { CLUSTER_B_NAME: '' }, expect: /^CLUSTER_B_NAME: is empty/m },
  // addresses and ranges
  { name: 'IPv6 where IPv4 is meant (mesh IP)', vars: { CLUSTER_A_MESH_IP: 'fd00::220' }, expect: /^CLUSTER_A_MESH_IP: "fd00::220" is an IPv6 address/m },
  { name: 'IPv6 pod CIDR', vars: { CLUSTER_B_POD_CIDR: 'fd00:43::/56' }, expect: /^CLUSTER_B_POD_CIDR: .*IPv6/m },
  { name: 'a mesh IP that is not an address', vars: { CLUSTER_B_MESH_IP: inNet('254.300') }, expect: /^CLUSTER_B_MESH_IP: .*300 is above 255/m },
  { name: 'a CIDR with host bits', vars: { CLUSTER_A_POD_CIDR: '10.42.1.0/16' }, expect: /^CLUSTER_A_POD_CIDR: "10\.42\.1\.0\/16"/m },
  { name: 'overlapping pod CIDRs', vars: { CLUSTER_B_POD_CIDR: '10.42.128.0/17' }, expect: /^CLUSTER_B_POD_CIDR: .*overlaps CLUSTER_A_POD_CIDR/m },
  { name: 'a pod CIDR inside a service CIDR', vars: { CLUSTER_A_POD_CIDR: '10.100.0.0/16' }, expect: /^CLUSTER_A_POD_CIDR: .*overlaps CLUSTER_A_SERVICE_CIDR/m },
  { name: 'a pod CIDR too small for a node', vars: { CLUSTER_A_POD_CIDR: '10.42.0.0/25' }, expect: /^CLUSTER_A_POD_CIDR: .*too small/m },
  { name: 'equal mesh IPs', vars: { CLUSTER_B_MESH_IP: inNet('254.220') }, expect: /^CLUSTER_B_MESH_IP: .*same as CLUSTER_A_MESH_IP/m,
    also: [['06-clustermesh-enable.mjs', []], ['07-clustermesh-connect.mjs', ['--dry-run']]] },
  { name: 'a mesh IP inside a pod CIDR', vars: { CLUSTER_A_MESH_IP: '10.42.0.220' }, expect: /^CLUSTER_A_MESH_IP: .*inside CLUSTER_A_POD_CIDR/m },
  { name: 'app pool start after stop', vars: { CLUSTER_A_APP_POOL_START: inNet('254.239'), CLUSTER_A_APP_POOL_STOP: inNet('254.230') },
    expect: /^CLUSTER_A_APP_POOL_START: .*comes after CLUSTER_A_APP_POOL_STOP/m, also: [['05-app-pools.mjs', []]] },
  { name: 'overlapping app pools', vars: { CLUSTER_B_APP_POOL_START: inNet('254.235') }, expect: /^CLUSTER_B_APP_POOL_START: .*overlaps cluster A's app pool/m },
  { name: 'an app pool containing a mesh IP', vars: { CLUSTER_A_APP_POOL_START: inNet('254.221') },
    expect: /^CLUSTER_A_APP_POOL_START: .*contains CLUSTER_B_MESH_IP/m },
  // names and IDs
  { name: 'equal cluster names', vars: { CLUSTER_B_NAME: 'cluster-a' }, expect: /^CLUSTER_B_NAME: .*same as CLUSTER_A_NAME/m },
  { name: 'cluster name "default"', vars: { CLUSTER_A_NAME: 'default' }, expect: /^CLUSTER_A_NAME: "default" cannot be used/m,
    also: [['01-install-a.mjs', []]] },
  { name: 'a cluster name too long', vars: { CLUSTER_A_NAME: 'a'.repeat(33) }, expect: /^CLUSTER_A_NAME: .*33 characters long/m },
  { name: 'a cluster name with invalid characters', vars: { CLUSTER_B_NAME: 'Cluster_B' }, expect: /^CLUSTER_B_NAME: "Cluster_B" is not a valid cluster name/m },
  { name: 'cluster ID 0', vars: { CLUSTER_A_ID: '0' }, expect: /^CLUSTER_A_ID: is 0; a cluster ID must be from 1 to 255/m,
    also: [['02-share-ca.mjs', []], ['03-install-b.mjs', ['--dry-run']]] },
  { name: 'cluster ID 256', vars: { CLUSTER_B_ID: '256' }, expect: /^CLUSTER_B_ID: is 256/m },
  { name: 'equal cluster IDs', vars: { CLUSTER_B_ID: '1' }, expect: /^CLUSTER_B_ID: is 1, the same as CLUSTER_A_ID/m },
  { name: 'a non-integer cluster ID', vars: { CLUSTER_A_ID: '1.5' }, expect: /^CLUSTER_A_ID: "1\.5" is not a whole number/m },
  // the mesh, Hubble, echo
  { name: 'affinity none', vars: { ECHO_AFFINITY: 'none' }, expect: /^ECHO_AFFINITY: "none" drops all remote backends/m,
    also: [['08-deploy-echo.mjs', []], ['09-failover.mjs', ['--dry-run']]] },
  { name: 'an unknown affinity', vars: { ECHO_AFFINITY: 'nearest' }, expect: /^ECHO_AFFINITY: "nearest" must be local, remote, or empty/m },
  { name: 'service type loadbalancer (case)', vars: { MESH_SERVICE_TYPE: 'loadbalancer' }, expect: /^MESH_SERVICE_TYPE: write LoadBalancer exactly/m },
  { name: 'service type ClusterIP', vars: { MESH_SERVICE_TYPE: 'ClusterIP' }, expect: /^MESH_SERVICE_TYPE: "ClusterIP" must be LoadBalancer or NodePort/m },
  { name: 'Hubble off', vars: { HUBBLE_ENABLED: 'false' }, expect: /^HUBBLE_ENABLED: is false, but step 02 shares cluster A's Cilium CA/m },
  { name: 'a boolean that is not true/false', vars: { HUBBLE_UI_ENABLED: 'yes' }, expect: /^HUBBLE_UI_ENABLED: "yes" is not a boolean/m },
  { name: 'an empty metric in the list', vars: { HUBBLE_METRICS: 'dns,,drop' }, expect: /^HUBBLE_METRICS: .*empty entry/m },
  { name: 'an invalid namespace', vars: { ECHO_NAMESPACE: 'Echo_NS' }, expect: /^ECHO_NAMESPACE: "Echo_NS" is not a valid namespace name/m },
  { name: 'equal echo pages', vars: { CLUSTER_B_ECHO_PAGE: 'Cluster A' }, expect: /^CLUSTER_B_ECHO_PAGE: .*same as CLUSTER_A_ECHO_PAGE/m },
  { name: 'an echo image with a space', vars: { CLUSTER_A_ECHO_IMAGE: '"mcbtaguiad/web-echo :a"' }, expect: /^CLUSTER_A_ECHO_IMAGE: .*contains whitespace/m },
  { name: 'replicas 0', vars: { ECHO_REPLICAS: '0' }, expect: /^ECHO_REPLICAS: is 0; the echo Deployment needs at least 1 replica/m },
  { name: 'a port above 65535', vars: { ECHO_SERVICE_PORT: '70000' }, expect: /^ECHO_SERVICE_PORT: is 70000; a port number must be from 1 to 65535/m },
  { name: 'a port that is not a number', vars: { ECHO_TARGET_PORT: 'http' }, expect: /^ECHO_TARGET_PORT: "http" is not a whole number/m },
  { name: 'a bad duration', vars: { TIMEOUT_MESH: '5 minutes' }, expect: /^TIMEOUT_MESH: "5 minutes" is not a duration/m },
  { name: 'a zero timeout', vars: { TIMEOUT_HTTP: '0s' }, expect: /^TIMEOUT_HTTP: .*longer than 0 seconds/m },
  { name: 'a Cilium version that is not one', vars: { CILIUM_VERSION: 'latest' }, expect: /^CILIUM_VERSION: "latest" is not a Cilium version/m },
  // the API server address
  { name: 'loopback API host 127.0.0.1', vars: { CLUSTER_A_API_HOST: '127.0.0.1' }, expect: /^CLUSTER_A_API_HOST: "127\.0\.0\.1" is a loopback address/m },
  { name: 'loopback API host localhost', vars: { CLUSTER_B_API_HOST: 'localhost' }, expect: /^CLUSTER_B_API_HOST: "localhost" names this machine itself/m },
  { name: 'API host from a loopback kubeconfig server (left empty)', vars: { CLUSTER_A_API_HOST: '', CLUSTER_A_API_PORT: '' },
    expect: /^CLUSTER_A_API_HOST: is empty, so it comes from the kubeconfig: .*loopback/m },
  { name: 'an API host given as a URL', vars: { CLUSTER_B_API_HOST: 'https://k3s-b-server:6443' }, expect: /^CLUSTER_B_API_HOST: .*is a URL/m },
  { name: 'an API port 0', vars: { CLUSTER_A_API_PORT: '0' }, expect: /^CLUSTER_A_API_PORT: is 0; a port number/m },
  // files, contexts
  { name: 'a missing env file (RUNBOOK_ENV pointing nowhere)', env: (h, dir) => ({ RUNBOOK_ENV: path.join(dir, 'nowhere.env') }),
    expect: /^RUNBOOK_ENV: names .*nowhere\.env, which does not exist/m, also: [['01-install-a.mjs', ['--dry-run']]] },
  { name: 'a kubeconfig without the context', env: (h, dir) => ({ KUBECONFIG: withoutContext(h, dir, h.twin.clusters.b.context) }),
    expect: /^CLUSTER_B_CONTEXT: context "cluster-b" is not in the kubeconfig .*it has: cluster-a/m },
  { name: 'a context name the kubeconfig lacks', vars: { CLUSTER_A_CONTEXT: 'cluster-x' }, expect: /^CLUSTER_A_CONTEXT: context "cluster-x" is not in the kubeconfig/m },
  { name: 'a kubeconfig path that does not exist (exported)', env: (h, dir) => ({ KUBECONFIG: path.join(dir, 'missing.yaml') }),
    expect: /^KUBECONFIG: cannot be used: .*missing\.yaml/m, also: [['04-mesh-pools.mjs', ['--dry-run']]] },
  { name: 'a kubeconfig path that does not exist (env file)', vars: { KUBECONFIG: '/nonexistent/kubeconfig.yaml' }, env: () => ({ KUBECONFIG: undefined }),
    expect: /^KUBECONFIG: cannot be used: .*\/nonexistent\/kubeconfig\.yaml/m },
  { name: 'equal contexts', vars: { CLUSTER_B_CONTEXT: 'cluster-a' }, expect: /^CLUSTER_B_CONTEXT: is "cluster-a", the same context as CLUSTER_A_CONTEXT/m },
  { name: 'a variable exported in the shell wins over the env file', env: () => ({ CLUSTER_B_ID: '0' }), expect: /^CLUSTER_B_ID: is 0/m },
  // tools
  { name: 'cilium missing from PATH', path: 'no-cilium', expect: /^cilium: not found on PATH/m,
    also: [['01-install-a.mjs', []], ['07-clustermesh-connect.mjs', ['--dry-run']]] },
  { name: 'kubectl missing from PATH', path: 'no-kubectl', expect: /^kubectl: not found on PATH/m,
    also: [['05-app-pools.mjs', []], ['02-share-ca.mjs', ['--dry-run']]] },
  { name: 'kubectl and cilium missing from PATH', path: 'neither', expect: /^kubectl: not found on PATH[^]*^cilium: not found on PATH/m },
];

/**
 * A copy of the twin's kubeconfig without one context.
 * @param {E2E} h @param {string} dir @param {string} context
 */
function withoutContext(h, dir, context) {
  const doc = YAML.parse(fs.readFileSync(h.twin.kubeconfig, 'utf8'));
  doc.contexts = doc.contexts.filter((/** @type {{ name: string }} */ c) => c.name !== context);
  const file = path.join(dir, 'one-context.yaml');
  fs.writeFileSync(file, YAML.stringify(doc), { mode: 0o600 });
  return file;
}

/**
 * A PATH of one temp folder holding links to exactly the tools given (node is
 * always there). /usr/bin holds node and kubectl on some machines, so dropping
 * folders from PATH would not do.
 * @param {string} dir @param {Record<string, string>} tools name → file
 */
function pathOf(dir, tools) {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  for (const [name, file] of Object.entries({ node: process.execPath, ...tools })) fs.symlinkSync(file, path.join(bin, name));
  return bin;
}

// One twin for every row; the runs take turns so each row's request count is its own.
/** @type {E2E} */
let h;
/** @type {Array<() => unknown>} */
const teardowns = [];
let turn = Promise.resolve();
/** @template T @param {() => Promise<T>} fn @returns {Promise<T>} */
const inTurn = (fn) => {
  const result = turn.then(fn);
  turn = result.then(() => undefined, () => undefined);
  return result;
};

test.before(async () => {
  h = await e2eTwin({ teardown: (fn) => { teardowns.push(fn); } });
});
test.after.always(async () => {
  for (const fn of teardowns) await fn();
});

for (const row of ROWS) {
  test.serial(`exit 2 before anything runs: ${row.name}`, async (t) => {
    const dir = fs.mkdtempSync(path.join(tmpdir(), 'runbook-bad-input-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const vars = Object.fromEntries(Object.entries(row.vars ?? {}).map(([k, v]) => [k, typeof v === 'function' ? v(h) : v]));
    const envFile = path.join(dir, 'runbook.env');
    const lines = Object.entries({ ...twinEnv(h.twin, { net: h.net }), ...vars }).map(([k, v]) => `${k}=${v}`);
    fs.writeFileSync(envFile, `${lines.join('\n')}\n`, { mode: 0o600 });
    const ciliumLog = path.join(dir, 'cilium-calls.jsonl');
    /** @type {Record<string, string | undefined>} */
    const env = { RUNBOOK_ENV: envFile, TWIN_CILIUM_LOG: ciliumLog, ...row.env?.(h, dir) };
    if (row.path) {
      const kubectl = which.sync('kubectl', { nothrow: true, path: h.env.PATH });
      const cilium = which.sync('cilium', { nothrow: true, path: h.env.PATH });
      if (!kubectl || !cilium) throw new Error('the harness PATH lacks kubectl or cilium');
      env.PATH = pathOf(dir, row.path === 'no-cilium' ? { kubectl } : row.path === 'no-kubectl' ? { cilium } : {});
    }
    for (const [script, args] of [/** @type {[string, string[]]} */ (['all.mjs', []]), ...(row.also ?? [])]) {
      const what = `${script} ${args.join(' ')}`.trim();
      const { r, requests } = await inTurn(async () => {
        h.resetStats();
        const res = await h.run(script, args, { env: /** @type {NodeJS.ProcessEnv} */ (env), timeoutMs: 30_000 });
        return { r: res, requests: h.stats().requests };
      });
      t.is(r.code, 2, `${what}: exit code\n${r.output}`);
      t.regex(r.stderr, row.expect, `${what}: names the variable or tool`);
      t.is(requests, 0, `${what}: no request reached the twin`);
      t.false(fs.existsSync(ciliumLog), `${what}: cilium was never started`);
      t.false(/^── /m.test(r.stdout), `${what}: no step started`);
    }
  });
}
