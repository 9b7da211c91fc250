// @ts-check
// buildConfig: variables in, Config or problems out. No files, no kubectl.
import test from 'ava';
import { buildConfig, findUnknownVariables, parseDuration, formatProblems, ConfigError, DEFAULTS, VARIABLES, editDistance } from '../../scripts/lib/config.mjs';

/** @typedef {import('../../scripts/lib/config.mjs').KubeconfigInfo} KubeconfigInfo */

/**
 * A kubeconfig with the given contexts → servers (cluster entry named like the context).
 * @param {Record<string, string | null>} servers
 * @returns {KubeconfigInfo}
 */
const kube = (servers) => ({
  contexts: new Map(Object.entries(servers).map(([name, server]) => [name, { server, cluster: name }])),
});

const GOOD_KUBE = kube({ 'cluster-a': 'https://192.168.254.10:6443', 'cluster-b': 'https://192.168.254.11:6443' });
const OPTIONS = { home: '/home/u', cwd: '/w' };

/**
 * @param {Record<string, string>} vars
 * @param {KubeconfigInfo} [k]
 */
const check = (vars, k = GOOD_KUBE) => buildConfig(vars, k, OPTIONS);

test('the defaults with a kubeconfig holding cluster-a and cluster-b give a complete Config', (t) => {
  const { config, problems } = check({});
  t.deepEqual(problems, []);
  if (!config) return t.fail();
  t.is(config.envFile, null);
  t.is(config.kubeconfig, '/home/u/.kube/config');
  t.is(config.ciliumVersion, '1.19.3');
  t.is(config.clusters[0], config.a);
  t.is(config.clusters[1], config.b);
  t.deepEqual(config.a, {
    key: 'a',
    label: 'A',
    context: 'cluster-a',
    name: 'cluster-a',
    id: 1,
    podCidr: '10.42.0.0/16',
    serviceCidr: '10.96.0.0/12',
    apiHost: '192.168.254.10',
    apiPort: 6443,
    server: 'https://192.168.254.10:6443',
    meshIp: '192.168.254.220',
    appPool: { start: '192.168.254.230', stop: '192.168.254.239' },
    echoImage: 'mcbtaguiad/web-echo:cluster-a',
    echoPage: 'Cluster A',
  });
  t.like(config.b, {
    key: 'b',
    label: 'B',
    context: 'cluster-b',
    name: 'cluster-b',
    id: 2,
    podCidr: '10.43.0.0/16',
    serviceCidr: '10.112.0.0/12',
    apiHost: '192.168.254.11',
    apiPort: 6443,
    meshIp: '192.168.254.221',
    appPool: { start: '192.168.254.240', stop: '192.168.254.249' },
    echoImage: 'mcbtaguiad/web-echo:cluster-b',
    echoPage: 'Cluster B',
  });
  t.is(config.meshServiceType, 'LoadBalancer');
  t.deepEqual(config.hubble, { enabled: true, relay: true, ui: true, metrics: ['dns', 'drop', 'tcp', 'flow', 'port-distribution', 'icmp', 'http'] });
  t.deepEqual(config.echo, { namespace: 'echo', name: 'echo', replicas: 1, servicePort: 80, targetPort: 80, affinity: 'local' });
  t.deepEqual(config.timeouts, { cilium: 300, resources: 120, mesh: 300, rollout: 180, http: 5, failover: 120 });
});

test('the Config is deeply frozen', (t) => {
  const { config } = check({});
  if (!config) return t.fail();
  t.true(Object.isFrozen(config));
  t.true(Object.isFrozen(config.a.appPool));
  t.true(Object.isFrozen(config.hubble.metrics));
  t.true(Object.isFrozen(config.clusters));
  t.throws(() => {
    /** @type {any} */ (config.a).name = 'x';
  }, { instanceOf: TypeError });
});

test('derivations: version v-prefix, durations, empty affinity/metrics, explicit API endpoint, URL without port', (t) => {
  const { config, problems } = check(
    {
      CILIUM_VERSION: 'v1.19.3',
      TIMEOUT_CILIUM: '1m30s',
      TIMEOUT_HTTP: '90',
      TIMEOUT_MESH: '1h',
      ECHO_AFFINITY: '',
      HUBBLE_METRICS: '',
      CLUSTER_A_API_HOST: '192.168.254.100',
      CLUSTER_A_API_PORT: '6444',
      KUBECONFIG: '~/k/a.yaml:b.yaml',
      ECHO_REPLICAS: '3',
      MESH_SERVICE_TYPE: 'NodePort',
      HUBBLE_UI_ENABLED: 'false',
    },
    kube({ 'cluster-a': 'https://127.0.0.1:6443', 'cluster-b': 'https://api.b.example' }),
  );
  t.deepEqual(problems, []);
  if (!config) return t.fail();
  t.is(config.ciliumVersion, '1.19.3');
  t.is(config.timeouts.cilium, 90);
  t.is(config.timeouts.http, 90);
  t.is(config.timeouts.mesh, 3600);
  t.is(config.echo.affinity, '');
  t.deepEqual(config.hubble.metrics, []);
  t.false(config.hubble.ui);
  t.is(config.echo.replicas, 3);
  t.is(config.meshServiceType, 'NodePort');
  t.is(config.a.apiHost, '192.168.254.100', 'an explicit host beats the loopback server URL');
  t.is(config.a.apiPort, 6444);
  t.is(config.a.server, 'https://127.0.0.1:6443');
  t.is(config.b.apiHost, 'api.b.example');
  t.is(config.b.apiPort, 443, 'no port in the URL: 443');
  t.is(config.kubeconfig, '/home/u/k/a.yaml:/w/b.yaml');
});

test('envFile is passed through', (t) => {
  const { config } = buildConfig({}, GOOD_KUBE, { ...OPTIONS, envFile: '/w/.env' });
  t.is(config?.envFile, '/w/.env');
});

/**
 * One mistake each: exactly one problem, on `variable`, matching `phrase`.
 * @type {Array<{ title: string, vars: Record<string, string>, kube?: KubeconfigInfo, variable: string, phrase: RegExp }>}
 */
const BROKEN = [
  // missing, malformed scalars
  { title: 'empty required value', vars: { CLUSTER_A_NAME: '' }, variable: 'CLUSTER_A_NAME', phrase: /^is empty; give it a value, or leave it out entirely to use the default \(cluster-a\)$/ },
  { title: 'whitespace-only counts as empty', vars: { CLUSTER_B_ID: '   ' }, variable: 'CLUSTER_B_ID', phrase: /^is empty;/ },
  { title: 'integer not an integer', vars: { CLUSTER_B_ID: 'two' }, variable: 'CLUSTER_B_ID', phrase: /"two" is not a whole number/ },
  { title: 'integer with a fraction', vars: { ECHO_REPLICAS: '1.5' }, variable: 'ECHO_REPLICAS', phrase: /"1\.5" is not a whole number/ },
  { title: 'duration unparseable', vars: { TIMEOUT_MESH: '5 minutes' }, variable: 'TIMEOUT_MESH', phrase: /"5 minutes" is not a duration; write e\.g\. 90s, 5m, 1m30s/ },
  { title: 'duration zero', vars: { TIMEOUT_HTTP: '0s' }, variable: 'TIMEOUT_HTTP', phrase: /must be longer than 0 seconds/ },
  { title: 'boolean not true/false', vars: { HUBBLE_UI_ENABLED: 'yes' }, variable: 'HUBBLE_UI_ENABLED', phrase: /"yes" is not a boolean; write true or false/ },
  { title: 'whitespace around a value', vars: { CLUSTER_A_NAME: ' cluster-a' }, variable: 'CLUSTER_A_NAME', phrase: /^" cluster-a" has whitespace at the start or end; remove it/ },
  { title: 'trailing whitespace in a page text', vars: { CLUSTER_B_ECHO_PAGE: 'Cluster B ' }, variable: 'CLUSTER_B_ECHO_PAGE', phrase: /has whitespace at the start or end/ },
  // kubeconfig and contexts
  { title: 'kubeconfig unreadable', vars: {}, kube: { error: '/x/config does not exist' }, variable: 'KUBECONFIG', phrase: /^cannot be used: \/x\/config does not exist$/ },
  { title: 'contexts equal', vars: { CLUSTER_B_CONTEXT: 'cluster-a' }, variable: 'CLUSTER_B_CONTEXT', phrase: /the same context as CLUSTER_A_CONTEXT/ },
  { title: 'context absent lists the contexts there are', vars: { CLUSTER_A_CONTEXT: 'prod' }, variable: 'CLUSTER_A_CONTEXT', phrase: /context "prod" is not in the kubeconfig \(\/home\/u\/\.kube\/config\); it has: cluster-a, cluster-b$/ },
  { title: 'context whose cluster is undefined', vars: {}, kube: kube({ 'cluster-a': 'https://192.168.254.10:6443', 'cluster-b': null }), variable: 'CLUSTER_B_CONTEXT', phrase: /refers to cluster "cluster-b", which the kubeconfig does not define/ },
  { title: 'both contexts reach one API server', vars: {}, kube: kube({ 'cluster-a': 'https://192.168.254.10:6443', 'cluster-b': 'https://192.168.254.10:6443' }), variable: 'CLUSTER_B_CONTEXT', phrase: /reaches the same API server \(https:\/\/192\.168\.254\.10:6443\) as CLUSTER_A_CONTEXT/ },
  // names
  { title: 'name longer than 32', vars: { CLUSTER_A_NAME: 'a'.repeat(33) }, variable: 'CLUSTER_A_NAME', phrase: /is 33 characters long; Cilium allows at most 32/ },
  { title: 'name with upper case and underscore', vars: { CLUSTER_A_NAME: 'Cluster_A' }, variable: 'CLUSTER_A_NAME', phrase: /"Cluster_A" is not a valid cluster name/ },
  { title: 'name starting with a dash', vars: { CLUSTER_B_NAME: '-b' }, variable: 'CLUSTER_B_NAME', phrase: /is not a valid cluster name/ },
  { title: 'name default', vars: { CLUSTER_A_NAME: 'default' }, variable: 'CLUSTER_A_NAME', phrase: /K3s kubeconfigs call every cluster "default", and ClusterMesh refuses/ },
  { title: 'names equal', vars: { CLUSTER_B_NAME: 'cluster-a' }, variable: 'CLUSTER_B_NAME', phrase: /the same as CLUSTER_A_NAME; cluster names must be unique/ },
  // IDs
  { title: 'ID 0', vars: { CLUSTER_A_ID: '0' }, variable: 'CLUSTER_A_ID', phrase: /^is 0; a cluster ID must be from 1 to 255 \(0 means "not part of a mesh"/ },
  { title: 'ID above 255', vars: { CLUSTER_B_ID: '256' }, variable: 'CLUSTER_B_ID', phrase: /^is 256; a cluster ID must be from 1 to 255/ },
  { title: 'IDs equal', vars: { CLUSTER_B_ID: '1' }, variable: 'CLUSTER_B_ID', phrase: /^is 1, the same as CLUSTER_A_ID; each cluster needs its own ID/ },
  // addresses and CIDRs
  { title: 'malformed IPv4', vars: { CLUSTER_A_MESH_IP: '192.168.254.300' }, variable: 'CLUSTER_A_MESH_IP', phrase: /300 is above 255/ },
  { title: 'IPv6 where IPv4 is meant (address)', vars: { CLUSTER_A_MESH_IP: 'fd00::220' }, variable: 'CLUSTER_A_MESH_IP', phrase: /"fd00::220" is an IPv6 address; this runbook needs an IPv4 address/ },
  { title: 'IPv6 where IPv4 is meant (CIDR)', vars: { CLUSTER_A_POD_CIDR: 'fd00:10:42::/56' }, variable: 'CLUSTER_A_POD_CIDR', phrase: /is an IPv6 CIDR; this runbook needs an IPv4 CIDR/ },
  { title: 'malformed CIDR', vars: { CLUSTER_B_POD_CIDR: '10.43.0.0/40' }, variable: 'CLUSTER_B_POD_CIDR', phrase: /prefix length "40"/ },
  { title: "the article's B service CIDR has host bits set", vars: { CLUSTER_B_SERVICE_CIDR: '10.97.0.0/12' }, variable: 'CLUSTER_B_SERVICE_CIDR', phrase: /has host bits set\. The \/12 network containing 10\.97\.0\.0 is 10\.96\.0\.0\/12/ },
  { title: 'pod CIDRs overlap', vars: { CLUSTER_B_POD_CIDR: '10.42.128.0/17' }, variable: 'CLUSTER_B_POD_CIDR', phrase: /^10\.42\.128\.0\/17 overlaps CLUSTER_A_POD_CIDR \(10\.42\.0\.0\/16\)/ },
  { title: "pod CIDR overlaps its own cluster's service CIDR", vars: { CLUSTER_A_POD_CIDR: '10.100.0.0/16' }, variable: 'CLUSTER_A_POD_CIDR', phrase: /overlaps CLUSTER_A_SERVICE_CIDR \(10\.96\.0\.0\/12\)/ },
  { title: "pod CIDR overlaps the other cluster's service CIDR", vars: { CLUSTER_A_POD_CIDR: '10.112.0.0/16' }, variable: 'CLUSTER_A_POD_CIDR', phrase: /overlaps CLUSTER_B_SERVICE_CIDR \(10\.112\.0\.0\/12\)/ },
  { title: 'pod CIDR smaller than a node block', vars: { CLUSTER_A_POD_CIDR: '10.42.0.0/25' }, variable: 'CLUSTER_A_POD_CIDR', phrase: /is too small: cluster-pool IPAM gives each node a \/24/ },
  { title: 'mesh IPs equal', vars: { CLUSTER_B_MESH_IP: '192.168.254.220' }, variable: 'CLUSTER_B_MESH_IP', phrase: /the same as CLUSTER_A_MESH_IP: two clustermesh-apiservers on one IP never connect/ },
  { title: 'mesh IP inside a pod CIDR', vars: { CLUSTER_A_MESH_IP: '10.42.0.220' }, variable: 'CLUSTER_A_MESH_IP', phrase: /10\.42\.0\.220 lies inside CLUSTER_A_POD_CIDR/ },
  { title: 'mesh IP inside a service CIDR', vars: { CLUSTER_B_MESH_IP: '10.100.0.1' }, variable: 'CLUSTER_B_MESH_IP', phrase: /lies inside CLUSTER_A_SERVICE_CIDR/ },
  { title: 'app pool start after stop', vars: { CLUSTER_A_APP_POOL_START: '192.168.254.239', CLUSTER_A_APP_POOL_STOP: '192.168.254.230' }, variable: 'CLUSTER_A_APP_POOL_START', phrase: /192\.168\.254\.239 comes after CLUSTER_A_APP_POOL_STOP \(192\.168\.254\.230\)/ },
  { title: 'app pools overlap', vars: { CLUSTER_B_APP_POOL_START: '192.168.254.235' }, variable: 'CLUSTER_B_APP_POOL_START', phrase: /overlaps cluster A's app pool \(192\.168\.254\.230-192\.168\.254\.239\)/ },
  { title: 'app pool contains a mesh IP', vars: { CLUSTER_A_APP_POOL_START: '192.168.254.221' }, variable: 'CLUSTER_A_APP_POOL_START', phrase: /contains CLUSTER_B_MESH_IP \(192\.168\.254\.221\)/ },
  { title: 'app pool inside a pod CIDR', vars: { CLUSTER_B_APP_POOL_START: '10.43.9.1', CLUSTER_B_APP_POOL_STOP: '10.43.9.9' }, variable: 'CLUSTER_B_APP_POOL_START', phrase: /overlaps CLUSTER_B_POD_CIDR \(10\.43\.0\.0\/16\)/ },
  { title: 'app pool inside a service CIDR', vars: { CLUSTER_A_APP_POOL_START: '10.96.0.10', CLUSTER_A_APP_POOL_STOP: '10.96.0.20' }, variable: 'CLUSTER_A_APP_POOL_START', phrase: /overlaps CLUSTER_A_SERVICE_CIDR/ },
  // choices
  { title: 'affinity none', vars: { ECHO_AFFINITY: 'none' }, variable: 'ECHO_AFFINITY', phrase: /drops all remote backends since Cilium 1\.18\.10.*leave ECHO_AFFINITY empty/ },
  { title: 'affinity unknown', vars: { ECHO_AFFINITY: 'nearest' }, variable: 'ECHO_AFFINITY', phrase: /"nearest" must be local, remote, or empty/ },
  { title: 'service type unknown', vars: { MESH_SERVICE_TYPE: 'ClusterIP' }, variable: 'MESH_SERVICE_TYPE', phrase: /"ClusterIP" must be LoadBalancer or NodePort/ },
  { title: 'service type in the wrong case', vars: { MESH_SERVICE_TYPE: 'loadbalancer' }, variable: 'MESH_SERVICE_TYPE', phrase: /write LoadBalancer exactly: the cilium CLI's --service-type is case-sensitive/ },
  // k8sServiceHost
  { title: 'explicit loopback IP host', vars: { CLUSTER_A_API_HOST: '127.0.0.1' }, variable: 'CLUSTER_A_API_HOST', phrase: /"127\.0\.0\.1" is a loopback address.*A K3s kubeconfig points at 127\.0\.0\.1; set CLUSTER_A_API_HOST to the server's address/ },
  { title: 'explicit loopback in 127/8', vars: { CLUSTER_B_API_HOST: '127.0.1.1' }, variable: 'CLUSTER_B_API_HOST', phrase: /is a loopback address/ },
  { title: 'explicit ::1', vars: { CLUSTER_A_API_HOST: '::1' }, variable: 'CLUSTER_A_API_HOST', phrase: /"::1" is the loopback address/ },
  { title: 'explicit localhost', vars: { CLUSTER_A_API_HOST: 'localhost' }, variable: 'CLUSTER_A_API_HOST', phrase: /names this machine itself \(localhost\)/ },
  { title: 'explicit *.localhost', vars: { CLUSTER_B_API_HOST: 'k3s.localhost' }, variable: 'CLUSTER_B_API_HOST', phrase: /names this machine itself/ },
  { title: 'loopback host taken from the kubeconfig', vars: {}, kube: kube({ 'cluster-a': 'https://127.0.0.1:6443', 'cluster-b': 'https://192.168.254.11:6443' }), variable: 'CLUSTER_A_API_HOST', phrase: /^is empty, so it comes from the kubeconfig: context "cluster-a" has server https:\/\/127\.0\.0\.1:6443, a loopback address.*set CLUSTER_A_API_HOST/ },
  { title: 'host given as a URL', vars: { CLUSTER_A_API_HOST: 'https://192.168.254.10:6443' }, variable: 'CLUSTER_A_API_HOST', phrase: /is a URL; give the host alone \(192\.168\.254\.10\) and the port in CLUSTER_A_API_PORT/ },
  { title: 'host with a port', vars: { CLUSTER_A_API_HOST: '192.168.254.10:6443' }, variable: 'CLUSTER_A_API_HOST', phrase: /has a port; give the host alone \(192\.168\.254\.10\)/ },
  { title: 'host not a host', vars: { CLUSTER_A_API_HOST: 'bad_host!' }, variable: 'CLUSTER_A_API_HOST', phrase: /is not a host name or IP address/ },
  { title: 'host unspecified', vars: { CLUSTER_A_API_HOST: '0.0.0.0' }, variable: 'CLUSTER_A_API_HOST', phrase: /is the unspecified address/ },
  // ports, counts, names
  { title: 'API port out of range', vars: { CLUSTER_A_API_PORT: '70000' }, variable: 'CLUSTER_A_API_PORT', phrase: /^is 70000; a port number must be from 1 to 65535$/ },
  { title: 'target port 0', vars: { ECHO_TARGET_PORT: '0' }, variable: 'ECHO_TARGET_PORT', phrase: /from 1 to 65535/ },
  { title: 'service port not a number', vars: { ECHO_SERVICE_PORT: 'http' }, variable: 'ECHO_SERVICE_PORT', phrase: /"http" is not a whole number/ },
  { title: 'replicas 0', vars: { ECHO_REPLICAS: '0' }, variable: 'ECHO_REPLICAS', phrase: /needs at least 1 replica/ },
  { title: 'Cilium version', vars: { CILIUM_VERSION: '1.19' }, variable: 'CILIUM_VERSION', phrase: /"1\.19" is not a Cilium version; write major\.minor\.patch/ },
  { title: 'image with whitespace inside', vars: { CLUSTER_A_ECHO_IMAGE: 'mcbtaguiad/web-echo: cluster-a' }, variable: 'CLUSTER_A_ECHO_IMAGE', phrase: /contains whitespace/ },
  { title: 'image empty', vars: { CLUSTER_B_ECHO_IMAGE: '' }, variable: 'CLUSTER_B_ECHO_IMAGE', phrase: /^is empty/ },
  { title: 'namespace not a DNS label', vars: { ECHO_NAMESPACE: 'Echo' }, variable: 'ECHO_NAMESPACE', phrase: /"Echo" is not a valid namespace name/ },
  { title: 'echo name not a DNS label', vars: { ECHO_NAME: '1echo' }, variable: 'ECHO_NAME', phrase: /"1echo" is not a valid Service name/ },
  { title: 'metrics not a comma list', vars: { HUBBLE_METRICS: 'dns drop' }, variable: 'HUBBLE_METRICS', phrase: /is not a comma-separated list of metric names \("dns drop" is not a name\)/ },
  { title: 'metrics with an empty entry', vars: { HUBBLE_METRICS: 'dns,,drop' }, variable: 'HUBBLE_METRICS', phrase: /has an empty entry/ },
  { title: 'metrics repeated', vars: { HUBBLE_METRICS: 'dns,drop,dns' }, variable: 'HUBBLE_METRICS', phrase: /lists dns more than once/ },
  { title: 'Hubble off', vars: { HUBBLE_ENABLED: 'false' }, variable: 'HUBBLE_ENABLED', phrase: /Cilium CA \(Secret kube-system\/cilium-ca\), which installing Cilium creates only for Hubble's certificates/ },
  { title: 'relay not a boolean', vars: { HUBBLE_RELAY_ENABLED: 'yes' }, variable: 'HUBBLE_RELAY_ENABLED', phrase: /"yes" is not a boolean/ },
  { title: 'UI without relay', vars: { HUBBLE_RELAY_ENABLED: 'false' }, variable: 'HUBBLE_UI_ENABLED', phrase: /reads flows through Hubble Relay/ },
  { title: 'echo pages equal', vars: { CLUSTER_B_ECHO_PAGE: 'Cluster A' }, variable: 'CLUSTER_B_ECHO_PAGE', phrase: /the same as CLUSTER_A_ECHO_PAGE; the checks tell the clusters apart/ },
  { title: 'echo page containing the other', vars: { CLUSTER_B_ECHO_PAGE: 'Cluster AB' }, variable: 'CLUSTER_B_ECHO_PAGE', phrase: /contain one another/ },
  { title: 'a K3s kubeconfig for one cluster only', vars: { CLUSTER_A_K3S_KUBECONFIG: '/k3s/a.yaml', CLUSTER_A_API_HOST: '192.168.254.10', CLUSTER_B_API_HOST: '192.168.254.11' }, variable: 'CLUSTER_B_K3S_KUBECONFIG', phrase: /is empty while CLUSTER_A_K3S_KUBECONFIG is set/ },
  { title: 'a kubeconfig server without a K3s kubeconfig', vars: { CLUSTER_A_KUBECONFIG_SERVER: 'https://127.0.0.1:16443' }, variable: 'CLUSTER_A_KUBECONFIG_SERVER', phrase: /only step 00 writes the kubeconfig/ },
];

for (const c of BROKEN) {
  test(`broken: ${c.title}`, (t) => {
    const { config, problems } = check(c.vars, c.kube);
    t.is(config, null);
    t.deepEqual(problems.map((p) => p.variable), [c.variable], formatProblems(problems));
    t.regex(problems[0]?.message ?? '', c.phrase);
    t.false(problems[0]?.message.includes('\n'), 'one line per problem');
  });
}

test('every rule in the table is exercised at least once per variable family', (t) => {
  const covered = new Set(BROKEN.map((c) => c.variable.replace(/^CLUSTER_[AB]_/, 'CLUSTER_X_')));
  const families = new Set(VARIABLES.map((v) => v.replace(/^CLUSTER_[AB]_/, 'CLUSTER_X_')));
  const untested = [...families].filter((f) => !covered.has(f) && f !== 'CLUSTER_X_APP_POOL_STOP' && !f.startsWith('TIMEOUT_'));
  t.deepEqual(untested, []);
});

test('all problems come at once: three mistakes, three problems', (t) => {
  const { config, problems } = check({ CLUSTER_A_NAME: 'default', CLUSTER_B_ID: '0', ECHO_AFFINITY: 'none' });
  t.is(config, null);
  t.deepEqual(problems.map((p) => p.variable).sort(), ['CLUSTER_A_NAME', 'CLUSTER_B_ID', 'ECHO_AFFINITY']);
});

test("all problems come at once: the article's values as written", (t) => {
  // The article's B service CIDR, K3s's cluster name, and K3s kubeconfigs left at 127.0.0.1.
  const { problems } = check(
    { CLUSTER_B_SERVICE_CIDR: '10.97.0.0/12', CLUSTER_A_NAME: 'default', CLUSTER_B_NAME: 'default' },
    kube({ 'cluster-a': 'https://127.0.0.1:6443', 'cluster-b': 'https://127.0.0.1:6444' }),
  );
  t.deepEqual(problems.map((p) => p.variable), ['CLUSTER_A_API_HOST', 'CLUSTER_A_NAME', 'CLUSTER_B_API_HOST', 'CLUSTER_B_NAME', 'CLUSTER_B_SERVICE_CIDR']);
});

test('a K3s kubeconfig nobody renamed: both contexts missing, with the rename hint', (t) => {
  const { problems } = check({}, kube({ default: 'https://127.0.0.1:6443' }));
  t.deepEqual(problems.map((p) => p.variable), ['CLUSTER_A_CONTEXT', 'CLUSTER_B_CONTEXT']);
  for (const p of problems) {
    t.regex(p.message, /it has: default\. K3s kubeconfigs call their context, cluster and user "default": rename all three/);
  }
});

test('equal contexts do not also report the second one missing', (t) => {
  const { problems } = check({ CLUSTER_A_CONTEXT: 'prod', CLUSTER_B_CONTEXT: 'prod' });
  t.deepEqual(problems.map((p) => p.variable), ['CLUSTER_A_CONTEXT', 'CLUSTER_B_CONTEXT']);
  t.regex(problems[0].message, /not in the kubeconfig/);
  t.regex(problems[1].message, /the same context as CLUSTER_A_CONTEXT/);
});

test('the same-server message explains the merged "default" cluster entry', (t) => {
  /** @type {KubeconfigInfo} */
  const k = {
    contexts: new Map([
      ['cluster-a', { server: 'https://192.168.254.10:6443', cluster: 'default' }],
      ['cluster-b', { server: 'https://192.168.254.10:6443', cluster: 'default' }],
    ]),
  };
  const { problems } = check({}, k);
  t.is(problems.length, 1);
  t.regex(problems[0].message, /Both contexts name the cluster entry "default".*rename the cluster and user entries too/);
});

test('a server URL that is not http(s) needs an explicit host and port', (t) => {
  const k = kube({ 'cluster-a': 'unix:///run/k3s.sock', 'cluster-b': 'https://192.168.254.11:6443' });
  t.deepEqual(check({}, k).problems.map((p) => p.variable), ['CLUSTER_A_API_HOST']);
  t.deepEqual(check({ CLUSTER_A_API_HOST: '192.168.254.10' }, k).problems.map((p) => p.variable), ['CLUSTER_A_API_PORT']);
  t.deepEqual(check({ CLUSTER_A_API_HOST: '192.168.254.10', CLUSTER_A_API_PORT: '6443' }, k).problems, []);
});

test('unknown variables that look like ours get the nearest known name', (t) => {
  const problems = findUnknownVariables(['CLUSTER_A_MESHIP', 'CLUSTER_A_MESH_IP', 'PATH', 'NODE_ENV', 'TIMEOUT_HTP', 'cluster_b_name', 'HUBBLE_SOMETHING_ELSE_ENTIRELY', 'KUBE_CONFIG']);
  t.deepEqual(problems, [
    { variable: 'CLUSTER_A_MESHIP', message: 'unknown variable CLUSTER_A_MESHIP, so it has no effect; did you mean CLUSTER_A_MESH_IP?' },
    { variable: 'TIMEOUT_HTP', message: 'unknown variable TIMEOUT_HTP, so it has no effect; did you mean TIMEOUT_HTTP?' },
    { variable: 'cluster_b_name', message: 'unknown variable cluster_b_name, so it has no effect; did you mean CLUSTER_B_NAME? (names are upper case)' },
    { variable: 'HUBBLE_SOMETHING_ELSE_ENTIRELY', message: 'unknown variable HUBBLE_SOMETHING_ELSE_ENTIRELY, so it has no effect (env.example lists every variable)' },
    { variable: 'KUBE_CONFIG', message: 'unknown variable KUBE_CONFIG, so it has no effect; did you mean KUBECONFIG?' },
  ]);
});

test('parseDuration', (t) => {
  t.is(parseDuration('90s'), 90);
  t.is(parseDuration('5m'), 300);
  t.is(parseDuration('1m30s'), 90);
  t.is(parseDuration('2h'), 7200);
  t.is(parseDuration('1h1m1s'), 3661);
  t.is(parseDuration('45'), 45);
  t.is(parseDuration(''), null);
  t.is(parseDuration('5 m'), null);
  t.is(parseDuration('30s1m'), null);
  t.is(parseDuration('1.5m'), null);
  t.is(parseDuration('-5s'), null);
});

test('editDistance', (t) => {
  t.is(editDistance('kitten', 'sitting'), 3);
  t.is(editDistance('', 'abc'), 3);
  t.is(editDistance('same', 'same'), 0);
});

test('ConfigError lists one problem per line as VARIABLE: message', (t) => {
  const problems = [
    { variable: 'CLUSTER_A_ID', message: 'is 0; bad' },
    { variable: 'ECHO_AFFINITY', message: '"none" drops' },
  ];
  t.is(formatProblems(problems), 'CLUSTER_A_ID: is 0; bad\nECHO_AFFINITY: "none" drops');
  const err = new ConfigError(problems, 'env file /w/.env');
  t.is(err.name, 'ConfigError');
  t.is(err.problems, problems);
  t.deepEqual(err.message.split('\n'), [
    "The runbook's settings have 2 problems (env file /w/.env):",
    'CLUSTER_A_ID: is 0; bad',
    'ECHO_AFFINITY: "none" drops',
  ]);
});

test('DEFAULTS hold the article values, with the corrected service CIDR for B', (t) => {
  t.is(DEFAULTS.CLUSTER_B_SERVICE_CIDR, '10.112.0.0/12');
  t.is(DEFAULTS.CLUSTER_A_SERVICE_CIDR, '10.96.0.0/12');
  t.is(DEFAULTS.CLUSTER_A_API_HOST, '');
  t.is(VARIABLES.length, 2 + 2 + 13 * 2 + 1 + 4 + 6 + 6);
});
