// @ts-check
// What a command exec'd into a twin container does: the Cilium agent's and
// KVStoreMesh's debug CLIs answer from the twin's state (state.mjs); a few
// ordinary tools (cat, echo, true, false, sh -c "...; exit N", hostname, env,
// sleep) behave as in any image; anything else fails as a container runtime
// reports a missing executable (exit 127).
import { agentEndpoints, agentStatus, kvstoremeshStatus, kvstoremeshEnabled, remoteClusters, secretClusters } from './state.mjs';
import { KUBE_SYSTEM } from '../controllers/util.mjs';
import { setTimeout as sleep } from 'node:timers/promises';

/** @typedef {import('./state.mjs').AgentWorld} AgentWorld */
/** @typedef {import('../server/exec.mjs').ExecTarget} ExecTarget */
/** @typedef {import('../server/exec.mjs').ExecIo} ExecIo */

/** Go's json.MarshalIndent(v, "", "  ") with a trailing newline, as the Cilium CLIs print. @param {unknown} v */
const goJson = (v) => `${JSON.stringify(v, null, '  ')}\n`;

/** @param {ExecIo} io @param {string} name */
function notFound(io, name) {
  io.stderr(`OCI runtime exec failed: exec failed: unable to start container process: exec: ${JSON.stringify(name)}: executable file not found in $PATH: unknown\r\n`);
  return 127;
}

/** The value of `-o`/`--output` in argv, or ''. @param {string[]} argv */
function outputFlag(argv) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-o' || a === '--output') return argv[i + 1] ?? '';
    const m = /^(?:-o|--output)=?(.+)$/.exec(a);
    if (m) return m[1];
  }
  return '';
}

/** Human `cilium status` lines from the JSON. @param {Record<string, any>} s @param {boolean} brief */
function statusText(s, brief) {
  if (brief) return 'OK\n';
  const mesh = s['cluster-mesh'];
  const lines = [
    ['KVStore', `${s.kvstore.state}   ${s.kvstore.msg}`],
    ['Kubernetes', `${s.kubernetes.state}   ${s.kubernetes.msg}`],
    ['KubeProxyReplacement', s['kube-proxy-replacement'].mode],
    ['Cilium', `${s.cilium.state}   ${s.cilium.msg}`],
    ['Controller Status', `${s.controllers.length}/${s.controllers.length} healthy`],
    ['Cluster health', s.cluster.ciliumHealth.state === 'Ok' ? `${s.cluster.nodes.length}/${s.cluster.nodes.length} reachable` : s.cluster.ciliumHealth.msg],
  ];
  if (mesh) {
    const ready = mesh.clusters.filter((/** @type {any} */ c) => c.ready).length;
    lines.push(['ClusterMesh', `${ready}/${mesh.clusters.length} remote clusters ready, ${mesh['num-global-services']} global-services`]);
    for (const c of mesh.clusters) {
      lines.push([`   ${c.name}`, c.ready ? `ready, ${c['num-nodes'] ?? 0} nodes, ${c['num-endpoints'] ?? 0} endpoints, ${c['num-identities'] ?? 0} identities, ${c['num-shared-services'] ?? 0} services` : `not-ready, ${c.status ?? 'remote cluster configuration required but not found'}`]);
    }
  }
  const w = Math.max(...lines.map(([k]) => k.length)) + 2;
  return lines.map(([k, v]) => `${`${k}:`.padEnd(w)}${v}\n`).join('');
}

/** The agent's `cilium`/`cilium-dbg` CLI. @param {AgentWorld} w @param {ExecTarget} t @param {string[]} args @param {ExecIo} io @param {string} bin */
function ciliumDbg(w, t, args, io, bin) {
  const node = String(t.pod.spec?.nodeName ?? '');
  const words = args.filter((a) => !a.startsWith('-') && a !== outputFlag(args));
  const json = outputFlag(args) === 'json';
  if (words[0] === 'status') {
    const s = agentStatus(w, node);
    io.stdout(json ? goJson(s) : statusText(s, args.includes('--brief')));
    return 0;
  }
  if ((words[0] === 'endpoint' || words[0] === 'endpoints') && (words[1] === 'list' || words[1] === 'ls')) {
    const eps = agentEndpoints(w, node);
    if (json) io.stdout(goJson(eps));
    else {
      io.stdout('ENDPOINT   IDENTITY   LABELS (source:key[=value])   IPv4   STATUS\n');
      for (const e of eps) io.stdout(`${String(e.id).padEnd(11)}${String(e.status.identity.id).padEnd(11)}${e.status.identity.labels.join(' ')}   ${e.status.networking?.addressing?.[0]?.ipv4 ?? ''}   ${e.status.state}\n`);
    }
    return 0;
  }
  if (words[0] === 'troubleshoot' && words[1] === 'clustermesh') {
    return troubleshoot(w, 'cilium-clustermesh', kvstoremeshEnabled(w.store), words.slice(2), io);
  }
  if (words.length === 0 || words[0] === 'help' || args.includes('--help')) {
    io.stdout(`CLI for interacting with the local Cilium Agent\n\nUsage:\n  ${bin} [command]\n\nAvailable Commands:\n  endpoint    Manage endpoints\n  status      Display status of daemon\n`);
    return 0;
  }
  io.stderr(`Error: unknown command "${words[0]}" for "${bin}"\nRun '${bin} --help' for usage.\n`);
  return 1;
}

/** `clustermesh-apiserver kvstoremesh-dbg status`. @param {AgentWorld} w @param {string[]} args @param {ExecIo} io */
function kvstoremeshDbg(w, args, io) {
  const words = args.filter((a) => !a.startsWith('-') && a !== outputFlag(args));
  if (words[0] === 'kvstoremesh-dbg' && words[1] === 'troubleshoot') return troubleshoot(w, 'cilium-kvstoremesh', false, words.slice(2), io);
  if (words[0] !== 'kvstoremesh-dbg' || words[1] !== 'status') {
    io.stderr(`Error: unknown command "${words.slice(0, 2).join(' ')}" for "clustermesh-apiserver"\nRun 'clustermesh-apiserver --help' for usage.\n`);
    return 1;
  }
  const clusters = kvstoremeshStatus(w);
  if (outputFlag(args) === 'json') io.stdout(goJson(clusters));
  else for (const c of clusters) io.stdout(`${c.name}: ${c.ready ? 'ready' : 'not-ready'}${c.status ? `, ${c.status}` : ''}\n`);
  return 0;
}

/**
 * `troubleshoot clustermesh [cluster...]`: each configured cluster, its endpoints and where the connection stands.
 * @param {AgentWorld} w @param {string} secret @param {boolean} viaKvstoremesh @param {string[]} only @param {ExecIo} io
 */
function troubleshoot(w, secret, viaKvstoremesh, only, io) {
  const names = (secretClusters(w.store, secret) ?? []).filter((n) => only.length === 0 || only.includes(n));
  const data = w.store.get('/secrets', KUBE_SYSTEM, secret)?.data ?? {};
  const byName = Object.fromEntries(remoteClusters(w, names, viaKvstoremesh).map((c) => [c.name, c]));
  io.stdout(`Found ${names.length} cluster configurations\n`);
  for (const n of names) {
    const c = byName[n];
    const eps = [...Buffer.from(String(data[n] ?? ''), 'base64').toString('utf8').matchAll(/^\s*-\s*(\S+)/gm)].map((m) => m[1]);
    io.stdout(`\nCluster ${JSON.stringify(n)}:\n📄 Configuration path: /var/lib/cilium/clustermesh/${n}\n\n🔌 Endpoints:\n`);
    for (const ep of eps) {
      io.stdout(`   - ${ep}\n`);
      if (c.connected) io.stdout(`     ✅ TCP connection successfully established\n     ✅ TLS connection successfully established\n`);
      else io.stdout(`     ❌ ${c.status ?? 'not connected'}\n`);
    }
    if (c.connected && !c.ready) io.stdout('     ❌ Remote cluster configuration required but not found\n');
    if (c.ready) io.stdout(`     ✅ Cluster configuration retrieved, ${c['num-nodes'] ?? 0} nodes synchronized\n`);
  }
  return 0;
}

/** `sh -c SCRIPT` for the simple scripts people type: `;`-separated commands, the last `exit N` wins. @param {AgentWorld} w @param {ExecTarget} t @param {string} script @param {ExecIo} io */
async function shell(w, t, script, io) {
  let code = 0;
  for (const part of script.split(/;|&&|\n/).map((s) => s.trim()).filter(Boolean)) {
    const exit = /^exit(?:\s+(\d+))?$/.exec(part);
    if (exit) return Number(exit[1] ?? code);
    const argv = [...part.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
    code = await run(w, { ...t, command: argv }, io);
  }
  return code;
}

/**
 * Runs a command in a container of the twin; resolves to its exit code.
 * @param {AgentWorld} w @param {ExecTarget} t @param {ExecIo} io
 * @returns {Promise<number>}
 */
export async function run(w, t, io) {
  const [cmd0, ...args] = t.command;
  const cmd = cmd0.replace(/^\/usr\/(local\/)?bin\//, '').replace(/^\/bin\//, '');
  const agent = t.container === 'cilium-agent';
  if (agent && (cmd === 'cilium' || cmd === 'cilium-dbg')) return ciliumDbg(w, t, args, io, cmd);
  if (t.container === 'kvstoremesh' && cmd === 'clustermesh-apiserver') return kvstoremeshDbg(w, args, io);
  switch (cmd) {
    case 'cat':
      if (args.length) { io.stderr(`cat: ${args[0]}: No such file or directory\n`); return 1; }
      for await (const chunk of io.stdin) io.stdout(chunk);
      return 0;
    case 'echo': io.stdout(`${args.filter((a) => a !== '-n').join(' ')}${args[0] === '-n' ? '' : '\n'}`); return 0;
    case 'true': return 0;
    case 'false': return 1;
    case 'hostname': io.stdout(`${t.pod.spec?.hostNetwork ? t.pod.spec?.nodeName : t.pod.metadata.name}\n`); return 0;
    case 'env': io.stdout(`PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nHOSTNAME=${t.pod.metadata.name}\nKUBERNETES_SERVICE_PORT=443\n`); return 0;
    case 'sleep': {
      const ms = Math.min(Number(args[0]) * 1000 || 0, 3_600_000);
      try { await sleep(ms, undefined, { signal: io.signal }); } catch { /* the client went away */ }
      return 0;
    }
    case 'sh': case 'bash':
      if (args[0] === '-c' && args[1] !== undefined) return shell(w, t, args[1], io);
      for await (const chunk of io.stdin) await shell(w, t, chunk.toString('utf8'), io);
      return 0;
    default: return notFound(io, cmd0);
  }
}
