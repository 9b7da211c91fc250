// @ts-check
// The config rules for step 00's inputs (CLUSTER_X_K3S_KUBECONFIG): with them
// set, the contexts need not be in KUBECONFIG yet (00 creates them), the API
// hosts must be given (the K3s files say 127.0.0.1), the server 00 writes is
// https://API_HOST:API_PORT (port 6443 unless set) or CLUSTER_X_KUBECONFIG_SERVER,
// and two files of one cluster, or a file that is not a kubeconfig, are problems
// naming the variable. Files only: no kubectl.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, ConfigError } from '../../scripts/lib/config.mjs';
import { k3sKubeconfig, renderKubeconfig } from '../../twin/kubeconfig.mjs';
import { tempDir } from '../support/config-fixture.mjs';

/** A PEM-looking text: config validation never parses certificates. @param {string} what */
const fakePem = (what) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(what).toString('base64')}\n-----END CERTIFICATE-----\n`;

/**
 * A folder with K3s-style kubeconfigs a.yaml and b.yaml (each its own CA).
 * @returns {{ dir: string, a: string, b: string }}
 */
function k3sFiles() {
  const dir = tempDir('runbook-k3s-config-');
  /** @param {string} key */
  const write = (key) => {
    const file = path.join(dir, `${key}.yaml`);
    fs.writeFileSync(file, k3sKubeconfig({ server: 'https://127.0.0.1:6443', caCert: fakePem(`ca ${key}`), clientCert: fakePem(`cert ${key}`), clientKey: fakePem(`key ${key}`) }), { mode: 0o600 });
    return file;
  };
  return { dir, a: write('a'), b: write('b') };
}

/**
 * loadConfig with the K3s files and LAN API hosts, KUBECONFIG in the folder (not there yet).
 * @param {Record<string, string>} [more]
 */
function load(more = {}) {
  const f = k3sFiles();
  const env = {
    HOME: f.dir,
    KUBECONFIG: path.join(f.dir, 'kube', 'config'),
    CLUSTER_A_K3S_KUBECONFIG: f.a,
    CLUSTER_B_K3S_KUBECONFIG: f.b,
    CLUSTER_A_API_HOST: '192.168.254.10',
    CLUSTER_B_API_HOST: '192.168.254.11',
  };
  for (const [k, v] of Object.entries(more)) env[/** @type {keyof typeof env} */ (k)] = v.replaceAll('$DIR', f.dir);
  return { f, env, load: () => loadConfig({ env, cwd: f.dir }) };
}

/**
 * The problems of a config that must fail, as "VARIABLE: message".
 * @param {import('ava').ExecutionContext} t
 * @param {() => unknown} fn
 */
function problems(t, fn) {
  const err = t.throws(fn, { instanceOf: ConfigError });
  return /** @type {ConfigError} */ (err).problems.map((p) => `${p.variable}: ${p.message}`);
}

test('with both K3s kubeconfigs, the contexts need not exist yet and the server is the API host on 6443', (t) => {
  const { f, load: l } = load();
  const config = l();
  t.deepEqual(config.k3s, {
    a: { file: fs.realpathSync(f.a), context: 'default', cluster: 'default', user: 'default', server: 'https://127.0.0.1:6443' },
    b: { file: fs.realpathSync(f.b), context: 'default', cluster: 'default', user: 'default', server: 'https://127.0.0.1:6443' },
  });
  t.like(config.a, { context: 'cluster-a', apiHost: '192.168.254.10', apiPort: 6443, server: 'https://192.168.254.10:6443' });
  t.like(config.b, { context: 'cluster-b', apiHost: '192.168.254.11', apiPort: 6443, server: 'https://192.168.254.11:6443' });
  t.is(config.kubeconfig, path.join(f.dir, 'kube', 'config'));
});

test('an explicit API port, an IPv6 API host and other context names go into the server and the names', (t) => {
  const { load: l } = load({ CLUSTER_A_API_PORT: '16443', CLUSTER_B_API_HOST: 'fd00::11', CLUSTER_A_CONTEXT: 'lab.east', CLUSTER_B_CONTEXT: 'lab_west' });
  const config = l();
  t.like(config.a, { context: 'lab.east', apiPort: 16443, server: 'https://192.168.254.10:16443' });
  t.like(config.b, { context: 'lab_west', apiHost: 'fd00::11', server: 'https://[fd00::11]:6443' });
});

test('a target that exists with other contexts, or is blank, is fine; one that is not a kubeconfig is a KUBECONFIG problem', (t) => {
  const other = load();
  fs.mkdirSync(path.dirname(other.env.KUBECONFIG), { recursive: true });
  fs.writeFileSync(other.env.KUBECONFIG, renderKubeconfig([{ name: 'work', server: 'https://w:6443', caCert: 'x', clientCert: 'y', clientKey: 'z' }], 'work'));
  t.is(other.load().k3s?.a.context, 'default');
  fs.writeFileSync(other.env.KUBECONFIG, '  \n');
  t.is(other.load().a.server, 'https://192.168.254.10:6443');
  fs.writeFileSync(other.env.KUBECONFIG, 'clusters: [\n');
  t.deepEqual(problems(t, other.load).map((p) => p.split(':')[0]), ['KUBECONFIG']);
});

test('the API hosts must be given: the K3s files point at 127.0.0.1', (t) => {
  const { load: l } = load({ CLUSTER_A_API_HOST: '', CLUSTER_B_API_HOST: '' });
  const p = problems(t, l);
  t.is(p.length, 2);
  t.regex(p[0], /^CLUSTER_A_API_HOST: is empty, but with CLUSTER_A_K3S_KUBECONFIG set it must be given: the K3s kubeconfig points at https:\/\/127\.0\.0\.1:6443, a loopback address/);
  t.regex(p[1], /^CLUSTER_B_API_HOST: is empty, but with CLUSTER_B_K3S_KUBECONFIG set/);
});

test('a K3s file already pointing at a LAN server still needs the API host, and is not called loopback', (t) => {
  const { f, load: l } = load({ CLUSTER_A_API_HOST: '' });
  fs.writeFileSync(f.a, fs.readFileSync(f.a, 'utf8').replace('https://127.0.0.1:6443', 'https://192.168.254.10:6443'));
  const [p, ...rest] = problems(t, l);
  t.is(rest.length, 0);
  t.regex(p, /^CLUSTER_A_API_HOST: is empty, but with CLUSTER_A_K3S_KUBECONFIG set it must be given: the K3s kubeconfig points at https:\/\/192\.168\.254\.10:6443 and step 00 writes/);
  t.false(p.includes('loopback'), p);
});

test('the loopback rule holds for the API host (Cilium), while the kubeconfig server may be a tunnel on 127.0.0.1', (t) => {
  t.regex(problems(t, load({ CLUSTER_A_API_HOST: '127.0.0.1' }).load).join('\n'), /^CLUSTER_A_API_HOST: "127\.0\.0\.1" is a loopback address/);
  const config = load({ CLUSTER_A_KUBECONFIG_SERVER: 'https://127.0.0.1:16443', CLUSTER_B_KUBECONFIG_SERVER: 'https://localhost:16444' }).load();
  t.like(config.a, { apiHost: '192.168.254.10', apiPort: 6443, server: 'https://127.0.0.1:16443' });
  t.like(config.b, { apiHost: '192.168.254.11', server: 'https://localhost:16444' });
});

test('a kubeconfig server that is not an https URL, or unspecified, is a problem', (t) => {
  const p = problems(t, load({ CLUSTER_A_KUBECONFIG_SERVER: '10.0.0.1:6443', CLUSTER_B_KUBECONFIG_SERVER: 'https://0.0.0.0:6443' }).load);
  t.is(p.length, 2);
  t.regex(p[0], /^CLUSTER_A_KUBECONFIG_SERVER: "10\.0\.0\.1:6443" is not an https URL; give the address this machine reaches cluster A's API server at/);
  t.regex(p[1], /^CLUSTER_B_KUBECONFIG_SERVER: "https:\/\/0\.0\.0\.0:6443" has the unspecified address/);
});

test('one K3s kubeconfig without the other is a problem on the empty one', (t) => {
  const p = problems(t, load({ CLUSTER_B_K3S_KUBECONFIG: '' }).load);
  t.deepEqual(p, ["CLUSTER_B_K3S_KUBECONFIG: is empty while CLUSTER_A_K3S_KUBECONFIG is set; step 00 merges both clusters' K3s kubeconfigs, so set both (or neither, when KUBECONFIG already holds both contexts)"]);
});

test('the same file twice, or two files with one CA, are one cluster', (t) => {
  const same = load({ CLUSTER_B_K3S_KUBECONFIG: '$DIR/a.yaml' });
  const p = problems(t, same.load);
  t.is(p.length, 1);
  t.true(p[0].startsWith(`CLUSTER_B_K3S_KUBECONFIG: is the same file as CLUSTER_A_K3S_KUBECONFIG (${fs.realpathSync(same.f.a)}), so both clusters would be one`), p[0]);
  const copy = load();
  fs.copyFileSync(copy.f.a, copy.f.b);
  t.regex(problems(t, copy.load)[0], /^CLUSTER_B_K3S_KUBECONFIG: .*b\.yaml holds the same cluster CA certificate as CLUSTER_A_K3S_KUBECONFIG \(.*a\.yaml\), so both come from one cluster/);
});

test('the same API server for both is one cluster, on the variable that gave it', (t) => {
  t.regex(problems(t, load({ CLUSTER_B_API_HOST: '192.168.254.10' }).load)[0],
    /^CLUSTER_B_API_HOST: gives the API server https:\/\/192\.168\.254\.10:6443, the same as cluster A's, so step 00 would write one server for both clusters/);
  t.regex(problems(t, load({ CLUSTER_A_KUBECONFIG_SERVER: 'https://127.0.0.1:7000', CLUSTER_B_KUBECONFIG_SERVER: 'https://127.0.0.1:7000' }).load)[0],
    /^CLUSTER_B_KUBECONFIG_SERVER: gives the API server https:\/\/127\.0\.0\.1:7000, the same as cluster A's/);
});

test('a K3s kubeconfig that is missing, not a kubeconfig, or the target itself is a problem naming the variable', (t) => {
  t.regex(problems(t, load({ CLUSTER_A_K3S_KUBECONFIG: '$DIR/nope.yaml' }).load)[0], /^CLUSTER_A_K3S_KUBECONFIG: .*nope\.yaml does not exist; copy \/etc\/rancher\/k3s\/k3s\.yaml/);
  const notKube = load();
  fs.writeFileSync(notKube.f.b, 'apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n');
  t.regex(problems(t, notKube.load)[0], /^CLUSTER_B_K3S_KUBECONFIG: .*b\.yaml is not a kubeconfig: it is kind "Secret"/);
  const target = load({ KUBECONFIG: '$DIR/a.yaml' });
  t.regex(problems(t, target.load)[0], /^CLUSTER_A_K3S_KUBECONFIG: .*a\.yaml is the file KUBECONFIG names, where step 00 writes the merged kubeconfig/);
});

test('a context of the name already in KUBECONFIG for another server is a problem (steps 01-09 would use it); for the same server it is fine', (t) => {
  const l = load();
  fs.mkdirSync(path.dirname(l.env.KUBECONFIG), { recursive: true });
  /** @param {string} server */
  const target = (server) => fs.writeFileSync(l.env.KUBECONFIG, renderKubeconfig([{ name: 'cluster-a', server, caCert: 'x', clientCert: 'y', clientKey: 'z' }], 'cluster-a'));
  target('https://10.9.9.9:6443');
  const p = problems(t, l.load);
  t.is(p.length, 1);
  t.regex(p[0], /^CLUSTER_A_CONTEXT: KUBECONFIG already has context "cluster-a" for the API server https:\/\/10\.9\.9\.9:6443, not https:\/\/192\.168\.254\.10:6443, which step 00 writes/);
  t.regex(p[0], /kubectl config delete-context cluster-a/);
  target('https://192.168.254.10:6443');
  t.is(l.load().a.server, 'https://192.168.254.10:6443');
});

test('context names step 00 cannot write as plain names are problems', (t) => {
  t.regex(problems(t, load({ CLUSTER_A_CONTEXT: 'my cluster' }).load)[0], /^CLUSTER_A_CONTEXT: "my cluster": step 00 writes this name for the context, cluster and user/);
});

test('without K3s kubeconfigs, Config.k3s is null', (t) => {
  const dir = tempDir('runbook-no-k3s-');
  const kube = path.join(dir, 'config');
  fs.writeFileSync(kube, renderKubeconfig([
    { name: 'cluster-a', server: 'https://192.168.254.10:6443', caCert: 'x', clientCert: 'y', clientKey: 'z' },
    { name: 'cluster-b', server: 'https://192.168.254.11:6443', caCert: 'x', clientCert: 'y', clientKey: 'z' },
  ], 'cluster-a'));
  t.is(loadConfig({ env: { HOME: dir, KUBECONFIG: kube }, cwd: dir }).k3s, null);
});
