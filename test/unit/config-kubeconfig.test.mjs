// @ts-check
// kubeconfig-read.mjs: contexts and servers from a kubeconfig or a KUBECONFIG list.
import test from 'ava';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  KubeconfigError,
  expandHome,
  resolveKubeconfigPaths,
  parseKubeconfig,
  readKubeconfig,
  tryReadKubeconfig,
  serverHostPort,
} from '../../scripts/lib/kubeconfig-read.mjs';

const FIX = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'kubeconfig');
/** @param {string} name */
const fx = (name) => path.join(FIX, name);

test('expandHome and resolveKubeconfigPaths', (t) => {
  t.is(expandHome('~', '/home/u'), '/home/u');
  t.is(expandHome('~/.kube/config', '/home/u'), '/home/u/.kube/config');
  t.is(expandHome('~other/x', '/home/u'), '~other/x');
  t.is(expandHome('/abs/x', '/home/u'), '/abs/x');
  t.deepEqual(resolveKubeconfigPaths('~/.kube/config', { home: '/home/u', cwd: '/w' }), ['/home/u/.kube/config']);
  t.deepEqual(resolveKubeconfigPaths('a.yaml::b.yaml:a.yaml', { home: '/home/u', cwd: '/w' }), ['/w/a.yaml', '/w/b.yaml']);
  t.deepEqual(resolveKubeconfigPaths('', { home: '/home/u', cwd: '/w' }), []);
});

test('reads contexts and their servers', (t) => {
  const kc = readKubeconfig(fx('mesh.yaml'));
  t.deepEqual([...kc.contexts.keys()], ['cluster-a', 'cluster-b']);
  t.is(kc.contexts.get('cluster-a')?.server, 'https://192.168.254.10:6443');
  t.is(kc.contexts.get('cluster-b')?.server, 'https://192.168.254.11:6443');
  t.is(kc.contexts.get('cluster-b')?.cluster, 'cluster-b');
  t.is(kc.currentContext, 'cluster-a');
  t.deepEqual(kc.files, [fx('mesh.yaml')]);
});

test('a KUBECONFIG list merges files, the first one winning for equal names', (t) => {
  const ab = readKubeconfig(`${fx('list-a.yaml')}:${fx('list-b.yaml')}`);
  t.deepEqual([...ab.contexts.keys()].sort(), ['cluster-a', 'cluster-b', 'shared']);
  t.is(ab.contexts.get('shared')?.server, 'https://10.0.0.1:6443');
  t.is(ab.contexts.get('shared')?.file, fx('list-a.yaml'));
  t.is(ab.contexts.get('cluster-b')?.server, 'https://api.cluster-b.example');
  t.is(ab.currentContext, 'cluster-a');
  const ba = readKubeconfig(`${fx('list-b.yaml')}:${fx('list-a.yaml')}`);
  t.is(ba.contexts.get('shared')?.server, 'https://10.0.0.2:6443');
  t.is(ba.currentContext, 'cluster-b');
});

test('relative list entries resolve from cwd and missing ones are skipped, as kubectl does', (t) => {
  const kc = readKubeconfig('nope.yaml:list-a.yaml:list-b.yaml', { cwd: FIX });
  t.deepEqual(kc.missing, [fx('nope.yaml')]);
  t.deepEqual(kc.files, [fx('list-a.yaml'), fx('list-b.yaml')]);
  t.true(kc.contexts.has('cluster-b'));
});

test('contexts resolve through the merged cluster entries (the K3s "default" trap)', (t) => {
  const kc = readKubeconfig(`${fx('k3s-a.yaml')}:${fx('k3s-b.yaml')}`);
  t.is(kc.contexts.get('cluster-a')?.server, 'https://192.168.254.10:6443');
  t.is(kc.contexts.get('cluster-b')?.cluster, 'default');
  t.is(kc.contexts.get('cluster-b')?.server, 'https://192.168.254.10:6443', "B's own cluster entry lost to A's");
});

test('a context whose cluster is not defined has server null', (t) => {
  const kc = readKubeconfig(fx('dangling.yaml'));
  t.is(kc.contexts.get('cluster-b')?.server, null);
  t.is(kc.contexts.get('cluster-b')?.cluster, 'gone');
});

test('files that cannot be used are KubeconfigErrors naming the file', (t) => {
  t.regex(t.throws(() => readKubeconfig(fx('nope.yaml')), { instanceOf: KubeconfigError })?.message ?? '', /nope\.yaml does not exist$/);
  t.regex(t.throws(() => readKubeconfig(`${fx('nope.yaml')}:${fx('nope2.yaml')}`), { instanceOf: KubeconfigError })?.message ?? '', /none of the listed files exists/);
  t.regex(t.throws(() => readKubeconfig(fx('broken.yaml')), { instanceOf: KubeconfigError })?.message ?? '', /broken\.yaml is not valid YAML/);
  t.regex(t.throws(() => readKubeconfig(fx('not-a-kubeconfig.yaml')), { instanceOf: KubeconfigError })?.message ?? '', /is not a kubeconfig: it is kind "Namespace"/);
  t.regex(t.throws(() => readKubeconfig(FIX), { instanceOf: KubeconfigError })?.message ?? '', /is a folder/);
  t.regex(t.throws(() => readKubeconfig(''), { instanceOf: KubeconfigError })?.message ?? '', /no kubeconfig path/);
  const bad = tryReadKubeconfig(fx('broken.yaml'));
  t.true('error' in bad && /not valid YAML/.test(bad.error));
});

test('parseKubeconfig checks the shape', (t) => {
  t.regex(t.throws(() => parseKubeconfig('', 'x'))?.message ?? '', /x is empty/);
  t.regex(t.throws(() => parseKubeconfig('- a\n- b\n', 'x'))?.message ?? '', /top level is not a mapping/);
  t.regex(t.throws(() => parseKubeconfig('foo: bar\n', 'x'))?.message ?? '', /neither clusters nor contexts/);
  t.regex(t.throws(() => parseKubeconfig('contexts: 3\n', 'x'))?.message ?? '', /"contexts" is not a list/);
  t.regex(t.throws(() => parseKubeconfig('contexts:\n  - context: {cluster: a}\n', 'x'))?.message ?? '', /contexts\[0\] has no name/);
  const ok = parseKubeconfig('kind: Config\napiVersion: v1\n', 'x');
  t.is(ok.contexts.size, 0);
  t.is(ok.currentContext, null);
});

test('serverHostPort takes host and port from the URL, 443 when none', (t) => {
  t.deepEqual(serverHostPort('https://192.168.254.10:6443'), { host: '192.168.254.10', port: 6443 });
  t.deepEqual(serverHostPort('https://api.example.test'), { host: 'api.example.test', port: 443 });
  t.deepEqual(serverHostPort('https://api.example.test:443/'), { host: 'api.example.test', port: 443 });
  t.deepEqual(serverHostPort('https://[fd00::10]:6443'), { host: 'fd00::10', port: 6443 });
  t.deepEqual(serverHostPort('http://10.0.0.1'), { host: '10.0.0.1', port: 80 });
  t.is(serverHostPort('192.168.254.10:6443'), null);
  t.is(serverHostPort('not a url'), null);
});
