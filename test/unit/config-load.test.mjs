// @ts-check
// loadConfig: env file + environment + kubeconfig files, as a step script calls it.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import dotenv from 'dotenv';
import { loadConfig, ConfigError, DEFAULTS, VARIABLES } from '../../scripts/lib/config.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENV_EXAMPLE = path.join(ROOT, 'env.example');
const FIX = path.join(ROOT, 'test', 'fixtures', 'kubeconfig');
/** @param {string} name */
const fx = (name) => path.join(FIX, name);
const MESH = fx('mesh.yaml');

/** @type {string[]} */
const made = [];
test.after.always(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh empty folder, removed after the tests. */
function tmpdir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-config-'));
  made.push(dir);
  return dir;
}

/**
 * A folder holding an env file with the given text.
 * @param {string} text
 * @param {string} [name]
 */
function withEnvFile(text, name = '.env') {
  const dir = tmpdir();
  fs.writeFileSync(path.join(dir, name), text);
  return { dir, file: path.join(dir, name) };
}

/**
 * The problems of a loadConfig call that must fail.
 * @param {import('ava').ExecutionContext} t
 * @param {Parameters<typeof loadConfig>[0]} opts
 */
function problemsOf(t, opts) {
  const err = t.throws(() => loadConfig(opts), { instanceOf: ConfigError });
  return /** @type {ConfigError} */ (err).problems;
}

test('env.example lists every variable once, with its default', (t) => {
  const text = fs.readFileSync(ENV_EXAMPLE, 'utf8');
  const names = [...text.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]);
  t.deepEqual(names, [...VARIABLES], 'same variables, same order, no repeats');
  const parsed = dotenv.parse(text);
  for (const name of VARIABLES) t.is(parsed[name], DEFAULTS[name], name);
  t.true(text.includes('clusterPoolIPv4PodCIDRList'), 'notes the pod CIDR key correction');
  t.true(text.includes('10.97.0.0/12'), "notes the article's B service CIDR");
  t.true(/k8sServiceHost/.test(text), 'explains the API host');
});

test('the defaults in env.example pass with a kubeconfig holding cluster-a and cluster-b', (t) => {
  const home = tmpdir();
  const config = loadConfig({ envFile: ENV_EXAMPLE, env: { HOME: home, KUBECONFIG: MESH }, cwd: home });
  t.is(config.envFile, ENV_EXAMPLE);
  t.is(config.kubeconfig, MESH);
  t.is(config.a.apiHost, '192.168.254.10');
  t.is(config.b.apiHost, '192.168.254.11');
  t.is(config.b.serviceCidr, '10.112.0.0/12');
  t.is(config.echo.affinity, 'local');
  t.true(Object.isFrozen(config));
});

test('RUNBOOK_ENV names the env file', (t) => {
  const home = tmpdir();
  const config = loadConfig({ env: { HOME: home, KUBECONFIG: MESH, RUNBOOK_ENV: ENV_EXAMPLE }, cwd: home });
  t.is(config.envFile, ENV_EXAMPLE);
});

test('the environment wins over the file; the file wins over the defaults', (t) => {
  const { dir } = withEnvFile(`KUBECONFIG=${MESH}\nCLUSTER_A_ID=7\nCLUSTER_B_ID=9\nECHO_REPLICAS=2\n`);
  const config = loadConfig({ cwd: dir, env: { HOME: dir, CLUSTER_A_ID: '5' } });
  t.is(config.envFile, path.join(dir, '.env'));
  t.is(config.a.id, 5, 'environment');
  t.is(config.b.id, 9, 'file');
  t.is(config.echo.replicas, 2, 'file');
  t.is(config.echo.namespace, 'echo', 'default');
  t.is(config.kubeconfig, MESH);
});

test('a KUBECONFIG in the environment beats the one in the file', (t) => {
  const { dir } = withEnvFile('KUBECONFIG=/nowhere/config\n');
  const config = loadConfig({ cwd: dir, env: { HOME: dir, KUBECONFIG: MESH } });
  t.is(config.kubeconfig, MESH);
});

test('a missing default .env is fine: defaults and environment apply', (t) => {
  const dir = tmpdir();
  const config = loadConfig({ cwd: dir, env: { HOME: dir, KUBECONFIG: MESH } });
  t.is(config.envFile, null);
  t.is(config.a.name, 'cluster-a');
});

test('RUNBOOK_ENV naming a missing file is a problem', (t) => {
  const dir = tmpdir();
  const problems = problemsOf(t, { cwd: dir, env: { HOME: dir, KUBECONFIG: MESH, RUNBOOK_ENV: 'lab.env' } });
  t.deepEqual(problems.map((p) => p.variable), ['RUNBOOK_ENV']);
  t.regex(problems[0].message, new RegExp(`^names ${path.join(dir, 'lab.env').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, which does not exist; create it \\(cp env\\.example lab\\.env\\)`));
});

test('an envFile option naming a missing file is a problem too, on RUNBOOK_ENV', (t) => {
  const dir = tmpdir();
  const problems = problemsOf(t, { cwd: dir, envFile: 'missing.env', env: { HOME: dir, KUBECONFIG: MESH } });
  t.deepEqual(problems.map((p) => p.variable), ['RUNBOOK_ENV']);
  t.regex(problems[0].message, /the env file .*missing\.env does not exist/);
});

test('a missing named env file does not hide the other problems', (t) => {
  const dir = tmpdir();
  const problems = problemsOf(t, { cwd: dir, env: { HOME: dir, KUBECONFIG: fx('nope.yaml'), RUNBOOK_ENV: 'lab.env', CLUSTER_A_ID: '0' } });
  t.deepEqual(problems.map((p) => p.variable), ['RUNBOOK_ENV', 'KUBECONFIG', 'CLUSTER_A_ID']);
});

test('a KUBECONFIG list a.yaml:b.yaml: contexts from both, relative to cwd', (t) => {
  const config = loadConfig({ cwd: FIX, envFile: ENV_EXAMPLE, env: { HOME: FIX, KUBECONFIG: 'list-a.yaml:list-b.yaml' } });
  t.is(config.kubeconfig, `${fx('list-a.yaml')}:${fx('list-b.yaml')}`);
  t.is(config.a.server, 'https://192.168.254.10:6443');
  t.is(config.b.server, 'https://api.cluster-b.example');
  t.is(config.b.apiHost, 'api.cluster-b.example');
  t.is(config.b.apiPort, 443);
});

test('a KUBECONFIG list: the first file wins for equal names', (t) => {
  const env = { HOME: FIX, CLUSTER_A_CONTEXT: 'shared', CLUSTER_B_CONTEXT: 'cluster-b' };
  const ab = loadConfig({ cwd: FIX, envFile: ENV_EXAMPLE, env: { ...env, KUBECONFIG: 'list-a.yaml:list-b.yaml' } });
  t.is(ab.a.server, 'https://10.0.0.1:6443');
  const ba = loadConfig({ cwd: FIX, envFile: ENV_EXAMPLE, env: { ...env, KUBECONFIG: 'list-b.yaml:list-a.yaml' } });
  t.is(ba.a.server, 'https://10.0.0.2:6443');
});

test("two K3s kubeconfigs with only the contexts renamed: B resolves to A's server", (t) => {
  const problems = problemsOf(t, { cwd: FIX, envFile: ENV_EXAMPLE, env: { HOME: FIX, KUBECONFIG: 'k3s-a.yaml:k3s-b.yaml' } });
  t.deepEqual(problems.map((p) => p.variable), ['CLUSTER_B_CONTEXT']);
  t.regex(problems[0].message, /reaches the same API server \(https:\/\/192\.168\.254\.10:6443\).*Both contexts name the cluster entry "default"/);
});

test('a K3s kubeconfig left at 127.0.0.1 asks for the API host, saying it came from the kubeconfig', (t) => {
  const problems = problemsOf(t, { cwd: FIX, envFile: ENV_EXAMPLE, env: { HOME: FIX, KUBECONFIG: 'k3s-loopback.yaml' } });
  t.deepEqual(problems.map((p) => p.variable), ['CLUSTER_A_API_HOST', 'CLUSTER_B_API_HOST']);
  t.regex(problems[0].message, /^is empty, so it comes from the kubeconfig: context "cluster-a" has server https:\/\/127\.0\.0\.1:6443/);
  t.regex(problems[1].message, /context "cluster-b" has server https:\/\/localhost:6444/);
  const fixed = loadConfig({
    cwd: FIX,
    envFile: ENV_EXAMPLE,
    env: { HOME: FIX, KUBECONFIG: 'k3s-loopback.yaml', CLUSTER_A_API_HOST: '192.168.254.10', CLUSTER_B_API_HOST: '192.168.254.11' },
  });
  t.is(fixed.a.apiHost, '192.168.254.10');
  t.is(fixed.a.apiPort, 6443, 'port still from the kubeconfig');
  t.is(fixed.b.apiPort, 6444);
});

test('a KUBECONFIG that is not a kubeconfig, or cannot be read, is a problem on KUBECONFIG', (t) => {
  for (const [file, phrase] of /** @type {const} */ ([
    ['broken.yaml', /is not valid YAML/],
    ['not-a-kubeconfig.yaml', /is not a kubeconfig: it is kind "Namespace"/],
    ['nope.yaml', /nope\.yaml does not exist/],
  ])) {
    const problems = problemsOf(t, { cwd: FIX, envFile: ENV_EXAMPLE, env: { HOME: FIX, KUBECONFIG: file } });
    t.deepEqual(problems.map((p) => p.variable), ['KUBECONFIG'], file);
    t.regex(problems[0].message, phrase);
  }
});

test('~ in KUBECONFIG is the home folder, and an empty KUBECONFIG means ~/.kube/config', (t) => {
  const home = tmpdir();
  fs.mkdirSync(path.join(home, '.kube'));
  fs.copyFileSync(MESH, path.join(home, '.kube', 'config'));
  const tilde = loadConfig({ cwd: home, env: { HOME: home, KUBECONFIG: '~/.kube/config' } });
  t.is(tilde.kubeconfig, path.join(home, '.kube', 'config'));
  const empty = loadConfig({ cwd: home, env: { HOME: home, KUBECONFIG: '' } });
  t.is(empty.kubeconfig, path.join(home, '.kube', 'config'));
  const unset = loadConfig({ cwd: home, env: { HOME: home } });
  t.is(unset.kubeconfig, path.join(home, '.kube', 'config'));
});

test('unknown variables in the env file are problems with a suggestion', (t) => {
  const { dir } = withEnvFile(`CLUSTER_A_MESHIP=192.168.254.222\nECHO_AFINITY=remote\nSOMETHING_ELSE=1\n`);
  const problems = problemsOf(t, { cwd: dir, env: { HOME: dir, KUBECONFIG: MESH } });
  t.deepEqual(problems, [
    { variable: 'CLUSTER_A_MESHIP', message: 'unknown variable CLUSTER_A_MESHIP, so it has no effect; did you mean CLUSTER_A_MESH_IP?' },
    { variable: 'ECHO_AFINITY', message: 'unknown variable ECHO_AFINITY, so it has no effect; did you mean ECHO_AFFINITY?' },
  ]);
});

test('unknown look-alike variables in the environment are not the runbook’s business', (t) => {
  const dir = tmpdir();
  const config = loadConfig({ cwd: dir, env: { HOME: dir, KUBECONFIG: MESH, CILIUM_NAMESPACE: 'kube-system' } });
  t.is(config.a.name, 'cluster-a');
});

test('whitespace around values: quoted spaces in the file and spaces in the environment', (t) => {
  const { dir } = withEnvFile(`CLUSTER_A_NAME=" cluster-a"\nCLUSTER_B_ECHO_PAGE='Cluster B '\nCLUSTER_A_ECHO_PAGE="Cluster A"\nECHO_NAME=  echo  \n`);
  const problems = problemsOf(t, { cwd: dir, env: { HOME: dir, KUBECONFIG: MESH, CLUSTER_B_ID: '2 ' } });
  t.deepEqual(problems.map((p) => p.variable), ['CLUSTER_A_NAME', 'CLUSTER_B_ID', 'CLUSTER_B_ECHO_PAGE']);
  for (const p of problems) t.regex(p.message, /has whitespace at the start or end; remove it/);
});

test('an empty-after-trim value counts as empty', (t) => {
  const { dir } = withEnvFile(`CLUSTER_A_API_HOST="   "\nECHO_AFFINITY=" "\nCLUSTER_B_NAME="  "\n`);
  const problems = problemsOf(t, { cwd: dir, env: { HOME: dir, KUBECONFIG: MESH } });
  t.deepEqual(problems.map((p) => p.variable), ['CLUSTER_B_NAME']);
  t.regex(problems[0].message, /^is empty/);
});

test('the error message lists every problem, one per line', (t) => {
  const dir = tmpdir();
  const err = t.throws(() => loadConfig({ cwd: dir, env: { HOME: dir, KUBECONFIG: MESH, CLUSTER_A_ID: '0', ECHO_AFFINITY: 'none', MESH_SERVICE_TYPE: 'nodeport' } }), { instanceOf: ConfigError });
  const lines = err?.message.split('\n') ?? [];
  t.is(lines[0], "The runbook's settings have 3 problems (no env file; defaults and environment):");
  t.deepEqual(lines.slice(1).map((l) => l.split(':')[0]), ['CLUSTER_A_ID', 'MESH_SERVICE_TYPE', 'ECHO_AFFINITY']);
});
