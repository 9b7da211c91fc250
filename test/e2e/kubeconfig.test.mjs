// @ts-check
// Step 00 through the real scripts (node scripts/00-kubeconfig.mjs, all.mjs) and
// the real kubectl, on the twin's K3s kubeconfigs (real certificates, every name
// "default", server https://127.0.0.1:PORT). Each run gets a fresh HOME, cwd,
// TMPDIR and target. The API hosts are LAN addresses nothing answers, so the
// rewrite is checked field by field; where kubectl must reach the twin, the
// kubeconfig server is set to the twin's address with CLUSTER_X_KUBECONFIG_SERVER
// (the SSH-tunnel setting), which leaves the API host that Cilium gets alone.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import YAML from 'yaml';
import { startTwin } from '../../twin/twin.mjs';
import { kubectl, pathWithTools } from '../support/kubectl.mjs';
import { TWIN_BIN } from '../../twin/runbook-env.mjs';
import { ROOT, tempDir } from '../support/config-fixture.mjs';

/** @typedef {import('../../twin/server/types.js').RunningTwin} RunningTwin */

/** @type {RunningTwin} */
let twin;
test.before(async () => {
  twin = await startTwin({ controllers: false, dataplane: false, cleanup: true, nodeCount: 1 });
});
test.after.always(async () => {
  await twin?.stop();
});

const LAN = { CLUSTER_A_API_HOST: '192.168.254.10', CLUSTER_B_API_HOST: '192.168.254.11' };
const RUNBOOK_VAR = /^(KUBECONFIG|RUNBOOK_ENV|CLUSTER_[AB]_|CILIUM_|MESH_|HUBBLE_|ECHO_|TIMEOUT_)/;

/**
 * A place for one run: HOME, cwd and TMPDIR of its own, the target in HOME/.kube/config.
 * @param {Record<string, string>} [vars] on top of the K3s files and LAN API hosts
 */
function place(vars = {}) {
  const home = tempDir('runbook-00-e2e-');
  const tmp = path.join(home, 'tmp');
  fs.mkdirSync(tmp);
  const envFile = path.join(home, 'runbook.env');
  fs.writeFileSync(envFile, '# nothing: the variables come from the environment\n');
  const target = path.join(home, '.kube', 'config');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !RUNBOOK_VAR.test(k)));
  Object.assign(env, {
    HOME: home, TMPDIR: tmp, RUNBOOK_ENV: envFile, NO_COLOR: '1', PATH: pathWithTools(),
    KUBECONFIG: target,
    CLUSTER_A_K3S_KUBECONFIG: twin.clusters.a.k3sKubeconfig,
    CLUSTER_B_K3S_KUBECONFIG: twin.clusters.b.k3sKubeconfig,
    ...LAN,
    ...vars,
  });
  return { home, tmp, target, env };
}

/**
 * Runs scripts/<script> to its end.
 * @param {{ home: string, env: NodeJS.ProcessEnv }} p
 * @param {string} script
 * @param {string[]} [args]
 * @returns {Promise<{ code: number | null, stdout: string, stderr: string, output: string }>}
 */
function run(p, script, args = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', script), ...args], { cwd: p.home, env: p.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, output: stdout + stderr }));
  });
}

/** @param {string} file */
const yamlOf = (file) => YAML.parse(fs.readFileSync(file, 'utf8'));
/** @param {string} file */
const pem = (file) => fs.readFileSync(file, 'utf8');
/** @param {string} b64 */
const unb64 = (b64) => Buffer.from(b64, 'base64').toString('utf8');
/** @param {string} file */
const mode = (file) => fs.statSync(file).mode & 0o777;
/** The files beside the target. @param {string} target */
const besides = (target) => fs.readdirSync(path.dirname(target)).sort();

/**
 * Nothing secret on the screen: no base64 PEM, no key.
 * @param {import('ava').ExecutionContext} t @param {string} output
 */
function noSecrets(t, output) {
  t.false(output.includes('LS0tLS1'), 'no base64 PEM printed');
  t.false(output.includes('PRIVATE KEY'), 'no key printed');
}

test.serial('a fresh merge: names, LAN servers, certificates intact, 0600, current-context; nothing left in TMPDIR', async (t) => {
  const p = place();
  const r = await run(p, '00-kubeconfig.mjs');
  t.is(r.code, 0, r.output);
  t.regex(r.stdout, /✚ changed Merge the K3s kubeconfigs of clusters A and B into .*\.kube\/config as cluster-a and cluster-b/);
  noSecrets(t, r.output);
  const doc = yamlOf(p.target);
  t.deepEqual(doc.clusters.map((/** @type {any} */ c) => [c.name, c.cluster.server]),
    [['cluster-a', 'https://192.168.254.10:6443'], ['cluster-b', 'https://192.168.254.11:6443']]);
  t.deepEqual(doc.contexts.map((/** @type {any} */ c) => [c.name, c.context.cluster, c.context.user]),
    [['cluster-a', 'cluster-a', 'cluster-a'], ['cluster-b', 'cluster-b', 'cluster-b']]);
  t.deepEqual(doc.users.map((/** @type {any} */ u) => u.name), ['cluster-a', 'cluster-b']);
  t.is(doc['current-context'], 'cluster-a');
  for (const [i, key] of /** @type {const} */ (['a', 'b']).entries()) {
    const dir = twin.clusters[key].dir;
    t.is(unb64(doc.clusters[i].cluster['certificate-authority-data']), pem(path.join(dir, 'ca.crt')));
    t.is(unb64(doc.users[i].user['client-certificate-data']), pem(path.join(dir, 'client-admin.crt')));
    t.is(unb64(doc.users[i].user['client-key-data']), pem(path.join(dir, 'client-admin.key')));
  }
  t.is(mode(p.target), 0o600);
  t.deepEqual(besides(p.target), ['config'], 'no backup of a file that did not exist');
  t.deepEqual(fs.readdirSync(p.tmp), [], 'the renamed copies are gone');
  const view = spawnSync('kubectl', ['config', 'get-contexts', '-o', 'name'], { env: { ...p.env, KUBECONFIG: p.target }, encoding: 'utf8' });
  t.deepEqual(view.stdout.trim().split('\n'), ['cluster-a', 'cluster-b']);
});

test.serial('all.mjs --only 00 with the kubeconfig server on the twin: kubectl uses both contexts (get nodes)', async (t) => {
  const p = place({ CLUSTER_A_KUBECONFIG_SERVER: twin.clusters.a.server.url, CLUSTER_B_KUBECONFIG_SERVER: twin.clusters.b.server.url });
  const r = await run(p, 'all.mjs', ['--only', '00']);
  t.is(r.code, 0, r.output);
  t.regex(r.stdout, /^00 Merge the K3s kubeconfigs/m, 'in the summary');
  t.regex(r.stdout, /1 of 1 steps passed/);
  const cacheDir = path.join(p.home, 'kube-cache');
  for (const [context, node] of [['cluster-a', 'node/k3s-a-server'], ['cluster-b', 'node/k3s-b-server']]) {
    const got = await kubectl(['--context', context, 'get', 'nodes', '-o', 'name'], { kubeconfig: p.target, cacheDir });
    t.is(got.code, 0, got.stderr);
    t.is(got.stdout.trim(), node, context);
  }
});

test.serial('an existing kubeconfig keeps its contexts and current-context, is backed up (0600), and a second run changes no byte', async (t) => {
  const p = place();
  fs.mkdirSync(path.dirname(p.target), { mode: 0o700 });
  const mine = 'apiVersion: v1\nkind: Config\ncurrent-context: work\n' +
    'clusters:\n- name: work\n  cluster:\n    server: https://work.example:6443\n' +
    'contexts:\n- name: work\n  context:\n    cluster: work\n    user: work\n' +
    'users:\n- name: work\n  user:\n    token: not-a-real-token\n';
  fs.writeFileSync(p.target, mine, { mode: 0o644 });
  const first = await run(p, '00-kubeconfig.mjs');
  t.is(first.code, 0, first.output);
  const doc = yamlOf(p.target);
  t.deepEqual(doc.contexts.map((/** @type {any} */ c) => c.name), ['cluster-a', 'cluster-b', 'work']);
  t.is(doc['current-context'], 'work');
  t.is(mode(p.target), 0o600);
  const files = besides(p.target);
  t.is(files.length, 2, files.join(' '));
  t.regex(files[1], /^config\.bak-\d{8}T\d{6}Z$/);
  const backup = path.join(path.dirname(p.target), files[1]);
  t.is(fs.readFileSync(backup, 'utf8'), mine);
  t.is(mode(backup), 0o600);
  t.regex(first.stdout, new RegExp(`the old file is in ${backup.replaceAll('.', '\\.')}`));

  const bytes = fs.readFileSync(p.target);
  const { mtimeMs } = fs.statSync(p.target);
  const second = await run(p, '00-kubeconfig.mjs');
  t.is(second.code, 0, second.output);
  t.regex(second.stdout, /✔ ok {6}Merge the K3s kubeconfigs/);
  t.regex(second.stdout, /1 ok, 0 changed, 0 failed/);
  t.deepEqual(fs.readFileSync(p.target), bytes);
  t.is(fs.statSync(p.target).mtimeMs, mtimeMs);
  t.deepEqual(besides(p.target), files, 'no new backup');
});

test.serial('--dry-run shows the planned rename and the commands, and writes nothing', async (t) => {
  const p = place();
  const r = await run(p, '00-kubeconfig.mjs', ['--dry-run']);
  t.is(r.code, 0, r.output);
  t.regex(r.stdout, /… would change Merge the K3s kubeconfigs .* — A: "default" → cluster-a, server https:\/\/127\.0\.0\.1:\d+ → https:\/\/192\.168\.254\.10:6443; B: "default" → cluster-b, server https:\/\/127\.0\.0\.1:\d+ → https:\/\/192\.168\.254\.11:6443; .*config is new \(mode 0600\), current-context cluster-a/);
  t.regex(r.stdout, /config rename-context default cluster-a/);
  t.regex(r.stdout, /0 ok, 1 would change/);
  noSecrets(t, r.output);
  t.false(fs.existsSync(path.dirname(p.target)));
  t.deepEqual(fs.readdirSync(p.tmp), []);
});

test.serial('refused before anything changes (exit 2, naming the variable): one cluster twice, or not a kubeconfig', async (t) => {
  const p = place();
  const twice = await run({ ...p, env: { ...p.env, CLUSTER_B_K3S_KUBECONFIG: twin.clusters.a.k3sKubeconfig } }, '00-kubeconfig.mjs');
  t.is(twice.code, 2, twice.output);
  t.regex(twice.stderr, /^CLUSTER_B_K3S_KUBECONFIG: is the same file as CLUSTER_A_K3S_KUBECONFIG/m);

  const copy = path.join(p.home, 'b-copy.yaml');
  fs.copyFileSync(twin.clusters.a.k3sKubeconfig, copy);
  const sameCa = await run({ ...p, env: { ...p.env, CLUSTER_B_K3S_KUBECONFIG: copy } }, '00-kubeconfig.mjs');
  t.is(sameCa.code, 2, sameCa.output);
  t.regex(sameCa.stderr, /^CLUSTER_B_K3S_KUBECONFIG: .*b-copy\.yaml holds the same cluster CA certificate as CLUSTER_A_K3S_KUBECONFIG/m);

  const sameHost = await run({ ...p, env: { ...p.env, CLUSTER_B_API_HOST: LAN.CLUSTER_A_API_HOST } }, '00-kubeconfig.mjs');
  t.is(sameHost.code, 2, sameHost.output);
  t.regex(sameHost.stderr, /^CLUSTER_B_API_HOST: gives the API server https:\/\/192\.168\.254\.10:6443, the same as cluster A's/m);

  const junk = path.join(p.home, 'junk.yaml');
  fs.writeFileSync(junk, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n');
  const notKube = await run({ ...p, env: { ...p.env, CLUSTER_A_K3S_KUBECONFIG: junk } }, '00-kubeconfig.mjs');
  t.is(notKube.code, 2, notKube.output);
  t.regex(notKube.stderr, /^CLUSTER_A_K3S_KUBECONFIG: .*junk\.yaml is not a kubeconfig: it is kind "ConfigMap"/m);

  t.false(fs.existsSync(path.dirname(p.target)), 'no kubeconfig written');
});

test.serial('refused when the kubeconfig already holds another cluster under a name: what is there and how to resolve it; nothing changes', async (t) => {
  const p = place();
  fs.mkdirSync(path.dirname(p.target), { mode: 0o700 });
  // A cluster entry "cluster-a" for another server, used by a context of another name.
  const other = 'apiVersion: v1\nkind: Config\ncurrent-context: old\n' +
    'clusters:\n- name: cluster-a\n  cluster:\n    server: https://10.9.9.9:6443\n' +
    'contexts:\n- name: old\n  context:\n    cluster: cluster-a\n    user: old\n' +
    'users:\n- name: old\n  user:\n    token: not-a-real-token\n';
  fs.writeFileSync(p.target, other, { mode: 0o600 });
  const r = await run(p, '00-kubeconfig.mjs');
  t.is(r.code, 1, r.output);
  t.regex(r.stderr, /already has a cluster named "cluster-a" with server https:\/\/10\.9\.9\.9:6443, not https:\/\/192\.168\.254\.10:6443/);
  t.regex(r.stderr, /Nothing was changed\. If that entry is stale, remove it \(`kubectl --kubeconfig \S+ config delete-cluster cluster-a`\)/);
  t.regex(r.stderr, /CLUSTER_A_CONTEXT/);
  t.is(fs.readFileSync(p.target, 'utf8'), other);
  t.deepEqual(besides(p.target), ['config'], 'no backup');

  // A context "cluster-b" for another server: the config says so (steps 01-09 would use it), exit 2.
  const twinCopy = path.join(p.home, 'twin.yaml');
  fs.copyFileSync(twin.kubeconfig, twinCopy);
  const ctx = await run({ ...p, env: { ...p.env, KUBECONFIG: twinCopy } }, '00-kubeconfig.mjs');
  t.is(ctx.code, 2, ctx.output);
  t.regex(ctx.stderr, /^CLUSTER_B_CONTEXT: KUBECONFIG already has context "cluster-b" for the API server https:\/\/127\.0\.0\.1:\d+, not https:\/\/192\.168\.254\.11:6443/m);
  t.deepEqual(fs.readFileSync(twinCopy), fs.readFileSync(twin.kubeconfig));
});

/** @param {string} text */
const stepsIn = (text) => [...text.matchAll(/^# Step (\d\d) — /gm)].map((m) => m[1]);

test.serial('all.mjs --transcript holds step 00 only when both K3s kubeconfigs are set; --only 00 without them exits 2', async (t) => {
  const withPaths = await run(place(), 'all.mjs', ['--transcript']);
  t.is(withPaths.code, 0, withPaths.output);
  t.deepEqual(stepsIn(withPaths.stdout), ['00', '01', '02', '03', '04', '05', '06', '07', '08', '09']);
  t.false(withPaths.stdout.includes('LS0tLS1'));

  const without = place({ KUBECONFIG: twin.kubeconfig, CLUSTER_A_K3S_KUBECONFIG: '', CLUSTER_B_K3S_KUBECONFIG: '' });
  const plain = await run(without, 'all.mjs', ['--transcript']);
  t.is(plain.code, 0, plain.output);
  t.deepEqual(stepsIn(plain.stdout), ['01', '02', '03', '04', '05', '06', '07', '08', '09']);
  const from = await run(without, 'all.mjs', ['--from', '00', '--transcript']);
  t.deepEqual(stepsIn(from.stdout), ['01', '02', '03', '04', '05', '06', '07', '08', '09']);
  const only = await run(without, 'all.mjs', ['--only', '00']);
  t.is(only.code, 2, only.output);
  t.regex(only.stderr, /step 00 merges the K3s kubeconfigs that CLUSTER_A_K3S_KUBECONFIG and CLUSTER_B_K3S_KUBECONFIG name, and neither is set/);
});

test.serial('the transcript runs as printed in bash and writes the same bytes as the script; again it changes nothing; it refuses another cluster under a name', async (t) => {
  const byScript = place();
  const done = await run(byScript, '00-kubeconfig.mjs');
  t.is(done.code, 0, done.output);

  const p = place();
  const printed = await run(p, '00-kubeconfig.mjs', ['--transcript']);
  t.is(printed.code, 0, printed.output);
  t.deepEqual(stepsIn(printed.stdout), ['00']);
  const script = path.join(p.home, 'step00.sh');
  fs.writeFileSync(script, printed.stdout);
  const bash = (/** @type {string} */ kubeconfig) => spawnSync('bash', [script], { cwd: p.home, env: { ...p.env, KUBECONFIG: kubeconfig }, encoding: 'utf8' });
  const first = bash(p.target);
  t.is(first.status, 0, first.stderr);
  noSecrets(t, first.stdout + first.stderr);
  t.deepEqual(fs.readFileSync(p.target), fs.readFileSync(byScript.target), 'the same kubeconfig, byte for byte');
  t.is(mode(p.target), 0o600);
  t.deepEqual(fs.readdirSync(p.tmp), [], 'mktemp folder removed');

  const { mtimeMs } = fs.statSync(p.target);
  const again = bash(p.target);
  t.is(again.status, 0, again.stderr);
  t.is(fs.statSync(p.target).mtimeMs, mtimeMs);
  t.deepEqual(besides(p.target), ['config'], 'no backup when nothing changes');

  // The target with cluster-a at another server: the bash refuses, exit 2, file untouched.
  const changed = fs.readFileSync(p.target, 'utf8').replace('https://192.168.254.10:6443', 'https://10.9.9.9:6443');
  fs.writeFileSync(p.target, changed);
  const refused = bash(p.target);
  t.is(refused.status, 2, refused.stdout + refused.stderr);
  t.regex(refused.stderr, /already has another cluster, context or user named cluster-a; nothing was changed/);
  t.is(fs.readFileSync(p.target, 'utf8'), changed);
  t.deepEqual(besides(p.target), ['config']);
});

test.serial('with the K3s kubeconfigs set, step 01 before step 00 names step 00 and writes no kubeconfig', async (t) => {
  const p = place({ CLUSTER_A_KUBECONFIG_SERVER: twin.clusters.a.server.url, CLUSTER_B_KUBECONFIG_SERVER: twin.clusters.b.server.url });
  p.env.PATH = `${TWIN_BIN}${path.delimiter}${p.env.PATH}`;
  const r = await run(p, '01-install-a.mjs');
  t.is(r.code, 1, r.output);
  // The check answers from the kubeconfig file alone, before any kubectl or cilium (the twin is shared with other tests here).
  t.regex(r.stderr, /not in KUBECONFIG .* yet: run step 00 \(npm run 00\) first/);
  t.false(fs.existsSync(p.target), 'no kubeconfig was written');
});
