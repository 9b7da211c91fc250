// @ts-check
// Step 00's parts: reading a K3s kubeconfig, renaming it, spotting another
// cluster under one of the names, and the action itself (check → run → check)
// with the real kubectl on the twin's K3s kubeconfigs, which carry real
// certificates. No API server is contacted: the merged servers are LAN
// addresses that nothing answers.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { startTwin } from '../../twin/twin.mjs';
import { loadConfig } from '../../scripts/lib/config.mjs';
import { Runtime } from '../../scripts/lib/runtime.mjs';
import { readK3sInput, renameK3s, conflictOf, isSimpleName, backupStamp } from '../../scripts/lib/k3s-kubeconfig.mjs';
import { step } from '../../scripts/00-kubeconfig.mjs';
import { isCode, transcriptOf } from '../../scripts/lib/plan.mjs';
import { pathWithTools } from '../support/kubectl.mjs';
import { tempDir } from '../support/config-fixture.mjs';

/** @typedef {import('../../twin/server/types.js').RunningTwin} RunningTwin */
/** @typedef {import('../../scripts/lib/types.js').Config} Config */
/** @typedef {import('../../scripts/lib/actions.js').Action} Action */
/** @typedef {import('../../scripts/lib/actions.js').Item} Item */
/** @typedef {import('../../scripts/lib/actions.js').CheckResult} CheckResult */

process.env.PATH = pathWithTools();

/** @type {RunningTwin} */
let twin;
test.before(async () => {
  twin = await startTwin({ controllers: false, dataplane: false, cleanup: true, nodeCount: 1 });
});
test.after.always(async () => {
  await twin?.stop();
});

const LAN = { CLUSTER_A_API_HOST: '192.168.254.10', CLUSTER_B_API_HOST: '192.168.254.11' };

/**
 * A config for step 00 on the twin's K3s files, writing to <fresh folder>/kube/config.
 * @param {Record<string, string>} [more]
 */
function setup(more = {}) {
  const home = tempDir('runbook-00-unit-');
  const target = path.join(home, 'kube', 'config');
  const env = {
    HOME: home,
    KUBECONFIG: target,
    CLUSTER_A_K3S_KUBECONFIG: twin.clusters.a.k3sKubeconfig,
    CLUSTER_B_K3S_KUBECONFIG: twin.clusters.b.k3sKubeconfig,
    ...LAN,
    ...more,
  };
  const config = loadConfig({ env, cwd: home });
  return { home, target, config };
}

/** A quiet runtime (announcements go nowhere). @param {Config} config */
function runtime(config) {
  const rt = new Runtime({ config, mode: 'run' });
  rt.announce = () => {};
  rt.announceProbe = () => {};
  return rt;
}

/** Step 00's one action, as the step file declares it. @param {Config} config */
const mergeKubeconfigs = (config) => /** @type {Action} */ (step.actions(config, { flags: new Set() })[0]);

/**
 * Carries out items as the executor does; step 00's are all code.
 * @param {Runtime} rt @param {Item[] | undefined} items @param {CheckResult} check
 */
async function carryOut(rt, items, check) {
  for (const item of items ?? []) {
    if (!isCode(item)) throw new Error('step 00 runs code, not a cluster command');
    await item.run(rt, check);
  }
}

/** @param {string} file */
const yamlOf = (file) => YAML.parse(fs.readFileSync(file, 'utf8'));
/** @param {string} file */
const pem = (file) => fs.readFileSync(file, 'utf8');
/** @param {string} b64 */
const unb64 = (b64) => Buffer.from(b64, 'base64').toString('utf8');

test('readK3sInput: a K3s kubeconfig gives its names, server and CA, not its credentials', (t) => {
  const info = readK3sInput(twin.clusters.a.k3sKubeconfig, { home: '/nowhere', cwd: '/', target: '/nowhere/config' });
  if ('error' in info) return t.fail(info.error);
  t.deepEqual({ ...info, caData: undefined }, {
    file: fs.realpathSync(twin.clusters.a.k3sKubeconfig), context: 'default', cluster: 'default', user: 'default',
    server: twin.clusters.a.server.url, caData: undefined,
  });
  t.is(unb64(info.caData ?? ''), pem(path.join(twin.clusters.a.dir, 'ca.crt')));
  t.false(JSON.stringify(info).includes('client'), 'no client certificate or key');
});

test('readK3sInput: what is not a usable K3s kubeconfig says why', (t) => {
  const dir = tempDir('runbook-00-inputs-');
  const where = { home: dir, cwd: dir, target: path.join(dir, 'config') };
  /** @param {string} name @param {string} text */
  const file = (name, text) => {
    fs.writeFileSync(path.join(dir, name), text);
    return name;
  };
  /** @param {string} value */
  const error = (value) => {
    const r = readK3sInput(value, where);
    return 'error' in r ? r.error : '';
  };
  t.regex(error('missing.yaml'), /missing\.yaml does not exist; copy \/etc\/rancher\/k3s\/k3s\.yaml/);
  t.regex(error(file('deploy.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n')), /is not a kubeconfig: it is kind "Deployment"/);
  t.regex(error(file('text.yaml', 'hello: [\n')), /is not valid YAML/);
  t.regex(error(file('empty.yaml', '\n')), /is empty, not a kubeconfig/);
  t.regex(error(twin.kubeconfig), /has 2 contexts \("cluster-a", "cluster-b"\); step 00 takes a kubeconfig with exactly one/);
  t.regex(error(file('nouser.yaml', 'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "https://10.0.0.1:6443"}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n')),
    /names user "u", which the file does not define/);
  t.regex(error(file('odd.yaml', 'apiVersion: v1\nkind: Config\nclusters:\n- name: "my cluster"\n  cluster: {server: "https://10.0.0.1:6443"}\ncontexts:\n- name: x\n  context: {cluster: "my cluster", user: u}\nusers:\n- name: u\n  user: {token: t}\n')),
    /names its cluster "my cluster"; step 00 renames only names of letters/);
  t.regex(error(file('config', fs.readFileSync(twin.clusters.a.k3sKubeconfig, 'utf8'))), /is the file KUBECONFIG names, where step 00 writes/);
  t.regex(error('.'), /is a folder/);
});

test('isSimpleName: what kubectl prints unquoted and sed can match', (t) => {
  for (const ok of ['cluster-a', 'lab.east', 'k3s_1', 'A']) t.true(isSimpleName(ok), ok);
  for (const bad of ['', '1a', 'my cluster', 'a/b', 'yes', 'on', 'null', 'a&b', '-a']) t.false(isSimpleName(bad), bad);
});

test('renameK3s: context, cluster and user get the name, the server the new address; the input is left alone', (t) => {
  const doc = yamlOf(twin.clusters.a.k3sKubeconfig);
  const before = JSON.stringify(doc);
  const r = renameK3s(doc, 'cluster-a', 'https://192.168.254.10:6443');
  t.is(JSON.stringify(doc), before);
  t.deepEqual(r.clusters.map((/** @type {any} */ c) => [c.name, c.cluster.server]), [['cluster-a', 'https://192.168.254.10:6443']]);
  t.is(r.clusters[0].cluster['certificate-authority-data'], doc.clusters[0].cluster['certificate-authority-data']);
  t.deepEqual(r.contexts, [{ name: 'cluster-a', context: { cluster: 'cluster-a', user: 'cluster-a' } }]);
  t.deepEqual(r.users, [{ name: 'cluster-a', user: doc.users[0].user }]);
  t.is(r['current-context'], 'cluster-a');
  t.throws(() => renameK3s(yamlOf(twin.kubeconfig), 'x', 'https://h:1'), { message: /has 2 clusters, not one/ });
});

test('conflictOf: another server, CA, context wiring or credentials under the name is refused, with what is there and the fix', (t) => {
  const fresh = renameK3s(yamlOf(twin.clusters.a.k3sKubeconfig), 'cluster-a', 'https://192.168.254.10:6443');
  const about = { target: '/home/u/.kube/config', variable: 'CLUSTER_A_CONTEXT' };
  /** @param {(d: any) => void} edit */
  const merged = (edit) => {
    const d = structuredClone(fresh);
    edit(d);
    return d;
  };
  t.is(conflictOf(fresh, fresh, 'cluster-a', about), null);
  t.is(conflictOf({ clusters: [], contexts: [], users: [] }, fresh, 'cluster-a', about), null, 'names the merge lacks are not conflicts');
  const server = conflictOf(merged((d) => { d.clusters[0].cluster.server = 'https://10.9.9.9:6443'; }), fresh, 'cluster-a', about) ?? '';
  t.regex(server, /already has a cluster named "cluster-a" with server https:\/\/10\.9\.9\.9:6443, not https:\/\/192\.168\.254\.10:6443/);
  t.regex(server, /kubectl --kubeconfig \/home\/u\/\.kube\/config config delete-cluster cluster-a/);
  t.regex(server, /CLUSTER_A_CONTEXT/);
  const ca = conflictOf(merged((d) => { d.clusters[0].cluster['certificate-authority-data'] = 'b3RoZXI='; }), fresh, 'cluster-a', about) ?? '';
  t.regex(ca, /with server https:\/\/192\.168\.254\.10:6443 but another CA certificate/);
  const ctx = conflictOf(merged((d) => { d.contexts[0].context = { cluster: 'default', user: 'default' }; }), fresh, 'cluster-a', about) ?? '';
  t.regex(ctx, /context named "cluster-a" that uses cluster "default" and user "default"/);
  t.regex(ctx, /delete-context cluster-a/);
  const user = conflictOf(merged((d) => { d.users[0].user = { token: 'x' }; }), fresh, 'cluster-a', about) ?? '';
  t.regex(user, /user named "cluster-a" with other credentials/);
  t.regex(user, /delete-user cluster-a/);
  for (const m of [server, ca, ctx, user]) {
    t.false(m.includes(fresh.users[0].user['client-key-data']) || m.includes(fresh.users[0].user['client-certificate-data']), 'no credentials in messages');
    t.regex(m, /Nothing was changed/);
  }
});

test('backupStamp: UTC, like date -u +%Y%m%dT%H%M%SZ', (t) => {
  t.is(backupStamp(new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 678))), '20250102T030405Z');
});

test('the action with the real kubectl: new file, then nothing to do', async (t) => {
  const { target, config } = setup();
  const action = mergeKubeconfigs(config);
  const rt = runtime(config);
  const first = await action.check(rt);
  t.is(first.state, 'todo');
  if (first.state !== 'todo') return;
  t.regex(first.detail ?? '', /A: "default" → cluster-a, server https:\/\/127\.0\.0\.1:\d+ → https:\/\/192\.168\.254\.10:6443; B: "default" → cluster-b/);
  t.false(fs.existsSync(target), 'check writes nothing');
  await carryOut(rt, [...action.run ?? [], ...action.verify ?? []], first);
  t.is(fs.statSync(target).mode & 0o777, 0o600);
  t.is(fs.statSync(path.dirname(target)).mode & 0o777, 0o700);

  const doc = yamlOf(target);
  t.deepEqual(doc.contexts, [
    { name: 'cluster-a', context: { cluster: 'cluster-a', user: 'cluster-a' } },
    { name: 'cluster-b', context: { cluster: 'cluster-b', user: 'cluster-b' } },
  ]);
  t.deepEqual(doc.clusters.map((/** @type {any} */ c) => [c.name, c.cluster.server]),
    [['cluster-a', 'https://192.168.254.10:6443'], ['cluster-b', 'https://192.168.254.11:6443']]);
  t.is(doc['current-context'], 'cluster-a');
  for (const [i, key] of /** @type {const} */ (['a', 'b']).entries()) {
    const dir = twin.clusters[key].dir;
    t.is(unb64(doc.clusters[i].cluster['certificate-authority-data']), pem(path.join(dir, 'ca.crt')), `${key}: CA intact`);
    t.is(unb64(doc.users[i].user['client-certificate-data']), pem(path.join(dir, 'client-admin.crt')), `${key}: client certificate intact`);
    t.is(unb64(doc.users[i].user['client-key-data']), pem(path.join(dir, 'client-admin.key')), `${key}: client key intact`);
  }

  const bytes = fs.readFileSync(target);
  const again = await mergeKubeconfigs(config).check(rt);
  t.is(again.state, 'done');
  t.deepEqual(fs.readFileSync(target), bytes);
  t.is(rt.counts.kubectl, 6, 'three local kubectl calls per check');
});

test('the action keeps the target\'s other contexts and current-context, and backs it up first', async (t) => {
  const { home, target, config } = setup();
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const mine = [
    'apiVersion: v1', 'kind: Config', 'current-context: work',
    'clusters:', '- name: work', '  cluster:', '    server: https://work.example:6443',
    'contexts:', '- name: work', '  context:', '    cluster: work', '    user: work', '    namespace: team',
    'users:', '- name: work', '  user:', '    token: not-a-real-token', '',
  ].join('\n');
  fs.writeFileSync(target, mine, { mode: 0o644 });
  const rt = runtime(config);
  const action = mergeKubeconfigs(config);
  const check = await action.check(rt);
  t.is(check.state, 'todo');
  t.regex(check.state === 'todo' ? check.detail ?? '' : '', /adds cluster-a and cluster-b, keeps 1 other context \(work\) and current-context work; the old file goes to .*\.bak-<UTC time>/);
  await carryOut(rt, action.run, check);
  const doc = yamlOf(target);
  t.is(doc['current-context'], 'work');
  t.deepEqual(doc.contexts.map((/** @type {any} */ c) => c.name), ['cluster-a', 'cluster-b', 'work']);
  t.deepEqual(doc.contexts[2].context, { cluster: 'work', user: 'work', namespace: 'team' });
  t.is(doc.users[2].user.token, 'not-a-real-token');
  t.is(fs.statSync(target).mode & 0o777, 0o600);
  const backups = fs.readdirSync(path.dirname(target)).filter((f) => f.startsWith('config.bak-'));
  t.is(backups.length, 1);
  t.regex(backups[0], /^config\.bak-\d{8}T\d{6}Z$/);
  const backup = path.join(path.dirname(target), backups[0]);
  t.is(fs.readFileSync(backup, 'utf8'), mine);
  t.is(fs.statSync(backup).mode & 0o777, 0o600);
  t.true(fs.existsSync(home));
});

test('the action refuses a target holding another cluster under a name, and changes nothing', async (t) => {
  const { target, config } = setup();
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const text = fs.readFileSync(twin.kubeconfig, 'utf8'); // cluster-a and cluster-b at 127.0.0.1: other servers
  fs.writeFileSync(target, text, { mode: 0o600 });
  const check = await mergeKubeconfigs(config).check(runtime(config));
  t.is(check.state, 'blocked');
  const message = check.state === 'blocked' ? check.message : '';
  t.regex(message, /already has a cluster named "cluster-a" with server https:\/\/127\.0\.0\.1:\d+, not https:\/\/192\.168\.254\.10:6443/);
  t.regex(message, /already has a cluster named "cluster-b"/);
  t.is(fs.readFileSync(target, 'utf8'), text);
  t.deepEqual(fs.readdirSync(path.dirname(target)), ['config']);
});

test('the action tightens a merged file others can read to 0600 without rewriting it', async (t) => {
  const { target, config } = setup();
  const rt = runtime(config);
  const first = await mergeKubeconfigs(config).check(rt);
  await carryOut(rt, mergeKubeconfigs(config).run, first);
  const bytes = fs.readFileSync(target);
  fs.chmodSync(target, 0o644);
  const check = await mergeKubeconfigs(config).check(rt);
  t.is(check.state, 'todo');
  t.regex(check.state === 'todo' ? check.detail ?? '' : '', /already holds them, but others can read it: mode 0600/);
  await carryOut(rt, mergeKubeconfigs(config).run, check);
  t.is(fs.statSync(target).mode & 0o777, 0o600);
  t.deepEqual(fs.readFileSync(target), bytes);
  t.deepEqual(fs.readdirSync(path.dirname(target)), ['config'], 'no backup for a mode change');
});

test('the action on a blank target file (touch ~/.kube/config) writes it, and the config accepts it', async (t) => {
  const home = tempDir('runbook-00-blank-');
  const target = path.join(home, 'config');
  fs.writeFileSync(target, '');
  const config = loadConfig({
    env: { HOME: home, KUBECONFIG: target, CLUSTER_A_K3S_KUBECONFIG: twin.clusters.a.k3sKubeconfig, CLUSTER_B_K3S_KUBECONFIG: twin.clusters.b.k3sKubeconfig, ...LAN },
    cwd: home,
  });
  const rt = runtime(config);
  const check = await mergeKubeconfigs(config).check(rt);
  t.is(check.state, 'todo');
  await carryOut(rt, mergeKubeconfigs(config).run, check);
  t.is(yamlOf(target)['current-context'], 'cluster-a');
});

test('the transcript names the K3s files, the new names and servers, and holds no credentials', (t) => {
  const { config, target } = setup();
  const text = transcriptOf(mergeKubeconfigs(config)).join('\n');
  t.true(text.includes(`--kubeconfig ${twin.clusters.a.k3sKubeconfig} config view --flatten --minify --context default`));
  t.true(text.includes('config rename-context default cluster-a'));
  t.true(text.includes("sed -e 's/^  name: default$/  name: cluster-a/'"));
  t.true(text.includes('config set-cluster cluster-b --server=https://192.168.254.11:6443'));
  t.true(text.includes(`target=${target}`));
  t.false(/LS0tLS1/.test(text), 'no base64 PEM');
});
