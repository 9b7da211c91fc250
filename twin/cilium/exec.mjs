// @ts-check
// Exec into a pod through the API server, as the real CLI's k8s.Client.ExecInPod
// does (client-go's WebSocket executor, v5.channel.k8s.io): stdout and stderr
// collected, the exit code from the error channel's Status, and the CLI's error
// texts ("command failed (pod=…, container=…): …"; stderr counts as an error).
import { randomBytes } from 'node:crypto';
import { WsConn } from '../server/websocket.mjs';
import { KubeError, isLoopback } from './kube.mjs';

/** @typedef {import('./kube.mjs').Kube} Kube */

/**
 * One exec: resolves to what the command wrote and its exit code; rejects with
 * the transport's or the API server's error before the command ran.
 * @param {Kube} kube @param {string} ns @param {string} pod @param {string} container @param {string[]} command
 * @param {number} [timeoutMs]
 * @returns {Promise<{ stdout: string, stderr: string, code: number }>}
 */
export async function execRaw(kube, ns, pod, container, command, timeoutMs = 30_000) {
  const https = await import('node:https');
  const u = new URL(`/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(pod)}/exec`, kube.url);
  for (const c of command) u.searchParams.append('command', c);
  u.searchParams.set('container', container);
  u.searchParams.set('stdout', 'true');
  u.searchParams.set('stderr', 'true');
  const cfg = kube.cfg;
  if (!isLoopback(u.hostname)) throw new KubeError(`dial tcp ${u.host}: connect: network is unreachable (the twin only reaches 127.0.0.0/8)`);
  /** @type {Record<string, string>} */
  const headers = {
    Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'), 'Sec-WebSocket-Protocol': 'v5.channel.k8s.io',
    'User-Agent': 'cilium-cli/v0.19.7 (twin)',
  };
  if (cfg.token) headers.Authorization = `Bearer ${cfg.token}`;
  return new Promise((resolve, reject) => {
    const req = https.request(u, { method: 'GET', headers, ca: cfg.ca, cert: cfg.cert, key: cfg.key, rejectUnauthorized: !cfg.insecure, agent: false });
    const timer = setTimeout(() => { req.destroy(); reject(new Error('context deadline exceeded')); }, timeoutMs);
    req.on('error', (e) => { clearTimeout(timer); reject(e); });
    req.on('response', (res) => {
      const chunks = /** @type {Buffer[]} */ ([]);
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8').trim();
        let status;
        try { status = JSON.parse(text); } catch { status = undefined; }
        if (status?.kind === 'Status') reject(new KubeError(status.message, status.code, status.reason));
        else reject(new KubeError(`unable to upgrade connection: ${text}`, res.statusCode ?? 0));
      });
    });
    req.on('upgrade', (_res, socket, head) => {
      const ws = new WsConn(socket, { client: true, head });
      let stdout = '';
      let stderr = '';
      /** @type {any} */
      let status;
      ws.on('message', (/** @type {Buffer} */ m) => {
        const data = m.subarray(1).toString('utf8');
        if (m[0] === 1) stdout += data;
        else if (m[0] === 2) stderr += data;
        else if (m[0] === 3) { try { status = JSON.parse(data); } catch { status = { status: 'Failure', message: data }; } }
      });
      ws.on('close', () => {
        clearTimeout(timer);
        socket.destroy();
        if (!status) { reject(new Error('error reading from error stream: connection closed')); return; }
        if (status.status === 'Success') { resolve({ stdout, stderr, code: 0 }); return; }
        const exit = status.reason === 'NonZeroExitCode' ? Number(status.details?.causes?.find((/** @type {any} */ c) => c.reason === 'ExitCode')?.message) : NaN;
        if (Number.isInteger(exit)) resolve({ stdout, stderr, code: exit });
        else reject(new Error(`error executing remote command: ${status.message ?? 'unknown'}`));
      });
    });
    req.end();
  });
}

/**
 * k8s.Client.ExecInPod with StderrAsError: stdout, or an error naming the pod.
 * @param {Kube} kube @param {string} ns @param {string} pod @param {string} container @param {string[]} command
 * @returns {Promise<string>}
 */
export async function execInPod(kube, ns, pod, container, command) {
  const where = `command failed (pod=${ns}/${pod}, container=${container})`;
  let r;
  try { r = await execRaw(kube, ns, pod, container, command); } catch (e) { throw new Error(`${where}: ${/** @type {Error} */ (e).message}`); }
  if (r.code !== 0 && !r.stderr) throw new Error(`${where}: command terminated with exit code ${r.code}`);
  if (r.code !== 0) throw new Error(`${where}: command terminated with exit code ${r.code}: ${JSON.stringify(r.stderr)}`);
  if (r.stderr) throw new Error(`${where}: ${JSON.stringify(r.stderr)}`);
  return r.stdout;
}
