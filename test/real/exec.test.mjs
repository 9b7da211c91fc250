// @ts-check
// Exec on the real backend: the real kubectl asks the real kube-apiserver,
// which forwards to the node's kubelet, played by tools/real-backend/kubelet.mjs
// with the twin's exec model; the pod is one the real controllers made and
// kwok runs. Skipped, saying so, when a binary is not built.
import { clusterBinaries, startCluster } from '../../tools/real-backend/cluster.mjs';
import { startMirror } from '../../tools/real-backend/mirror.mjs';
import { execModel } from '../../twin/agents/index.mjs';
import { realBackend } from '../support/real-backend.mjs';
import { scaled } from '../support/time.mjs';

const NODES = { count: 2, ipBase: '127.0.40.1' };
const { missing } = clusterBinaries({ nodes: NODES });

/** @type {ReturnType<typeof startMirror> | undefined} */
let mirror;
const { real, k, until } = realBackend(missing, async (dir) => {
  const c = await startCluster({ dir, key: 'a', nodes: NODES, readyMs: scaled(120_000), removeDir: true, exec: {
    model: () => {
      if (!mirror) throw new Error('no mirror yet');
      return execModel({ store: mirror.twin.clusters.a.store, twin: mirror.twin, key: 'a', k3sVersion: 'v1.33.0+k3s1' });
    },
  } });
  mirror = startMirror({ clusters: /** @type {any} */ ({ a: { context: 'default', server: c.server, pki: c.pki } }), k3sVersion: 'v1.33.0+k3s1' });
  return { ...c, stop: async () => { await mirror?.stop(); await c.stop(); } };
});

/** @type {Promise<void> | undefined} */
let created;

/** The name of the Running pod of Deployment "shell" (created by the first call). */
async function shellPod() {
  created ??= k(['create', 'deployment', 'shell', '--image=docker.io/library/busybox:1.37']).then((r) => {
    if (r.code !== 0) throw new Error(`kubectl create deployment: ${r.stderr}`);
  });
  await created;
  const out = await until(['get', 'pods', '-l', 'app=shell', '-o', 'jsonpath={range .items[?(@.status.phase=="Running")]}{.metadata.name}{"\\n"}{end}'],
    (o) => o.trim() !== '');
  return out.trim().split('\n')[0];
}

real('kubectl exec runs a command in a kwok pod: its output and exit code 0', async (t) => {
  const pod = await shellPod();
  const r = await k(['exec', pod, '--', 'echo', 'hello', 'from', 'a', 'real', 'apiserver']);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'hello from a real apiserver\n');
});

real('stdin reaches the command, and a command\'s exit code comes back through the apiserver', async (t) => {
  const pod = await shellPod();
  const cat = await k(['exec', '-i', pod, '--', 'cat'], 'piped\nlines\n');
  t.is(cat.code, 0, cat.stderr);
  t.is(cat.stdout, 'piped\nlines\n');
  const exit = await k(['exec', pod, '--', 'sh', '-c', 'exit 3']);
  t.is(exit.code, 3, `${exit.stdout}${exit.stderr}`);
  t.regex(exit.stderr, /command terminated with exit code 3/);
  const missingBin = await k(['exec', pod, '--', 'no-such-tool']);
  t.is(missingBin.code, 127, missingBin.stderr);
  t.regex(missingBin.stderr, /executable file not found in \$PATH/);
});

real('exec into a pod that does not exist is the apiserver\'s own NotFound', async (t) => {
  const r = await k(['exec', 'no-such-pod', '--', 'true']);
  t.is(r.code, 1);
  t.regex(r.stderr, /pods "no-such-pod" not found/);
});
