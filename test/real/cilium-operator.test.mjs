// @ts-check
// The real cilium-operator-generic (npm run build:real) on a real-backend
// cluster: it registers Cilium's CRDs and its LB-IPAM gives a LoadBalancer
// Service an address out of a CiliumLoadBalancerIPPool. Skipped, saying so,
// when a binary is not built.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterBinaries, startCluster } from '../../tools/real-backend/cluster.mjs';
import { startOperator } from '../../tools/real-backend/operator.mjs';
import { realBinary } from '../../tools/build-real.mjs';
import { kubectl } from '../support/kubectl.mjs';
import { describeDeadline, scaled } from '../support/time.mjs';

const operator = realBinary('cilium-operator-generic');
const missing = [...clusterBinaries({ controllers: true }).missing, ...(operator.built ? [] : [`${operator.bin} ${operator.version}`])];
if (missing.length) console.log(`test/real: skipped: ${missing.join(', ')} not built (npm run build:real builds them when Go is there)`);
const real = missing.length ? test.serial.skip : test.serial;

/** @type {import('../../tools/real-backend/cluster.mjs').RealCluster | undefined} */
let cluster;
const cacheDir = mkdtempSync(join(tmpdir(), 'real-kubectl-cache-'));

test.before(async () => {
  if (missing.length) return;
  cluster = await startCluster({ dir: mkdtempSync(join(tmpdir(), 'real-cluster-')), controllers: true, readyMs: scaled(120_000), removeDir: true });
  cluster.procs.push(await startOperator({ bin: operator.path, dir: cluster.dir, kubeconfig: cluster.kubeconfig, host: '127.0.0.1',
    readyMs: scaled(120_000), config: {
      // cilium-config keys as the chart renders them for the runbook (cluster-pool IPAM, IPv4 only).
      'cluster-name': 'cluster-a', 'cluster-id': '1', 'identity-allocation-mode': 'crd',
      'enable-ipv4': 'true', 'enable-ipv6': 'false', ipam: 'cluster-pool', 'cluster-pool-ipv4-cidr': '10.42.0.0/16', 'cluster-pool-ipv4-mask-size': '24',
    } }));
});
test.after.always(async () => {
  await cluster?.stop();
  rmSync(cacheDir, { recursive: true, force: true });
});

/** @param {string[]} args @param {string} [input] */
const k = (args, input) => kubectl(args, { kubeconfig: cluster?.kubeconfig ?? '', cacheDir, input });

/**
 * kubectl `args` until its output satisfies `ok`, within a scaled deadline; the last output.
 * @param {string[]} args @param {(out: string) => boolean} ok
 */
async function until(args, ok) {
  const limit = scaled(90_000);
  const deadline = Date.now() + limit;
  let last = '';
  while (Date.now() < deadline) {
    const r = await k(args);
    last = `${r.stdout}${r.stderr}`;
    if (r.code === 0 && ok(r.stdout)) return r.stdout;
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`kubectl ${args.join(' ')}: not as expected after ${describeDeadline(limit)}; last output:\n${last}`);
}

real('the operator registers Cilium\'s CRDs, LB-IPAM\'s pool among them', async (t) => {
  const want = ['ciliumidentities.cilium.io', 'ciliumloadbalancerippools.cilium.io', 'ciliumnodes.cilium.io'];
  const out = await until(['get', 'crd', '-o', 'jsonpath={range .items[*]}{.metadata.name}{"\\n"}{end}'],
    (o) => want.every((n) => o.split('\n').includes(n)));
  t.true(want.every((n) => out.split('\n').includes(n)), out);
  const r = await k(['wait', '--for=condition=Established', '--timeout=60s', 'crd/ciliumloadbalancerippools.cilium.io']);
  t.is(r.code, 0, r.stderr);
});

real('LB-IPAM gives a LoadBalancer Service an address out of the pool', async (t) => {
  const pool = 'apiVersion: cilium.io/v2\nkind: CiliumLoadBalancerIPPool\nmetadata:\n  name: mesh\nspec:\n  blocks:\n  - start: 127.0.40.10\n    stop: 127.0.40.12\n';
  const svc = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: echo\n  namespace: default\nspec:\n  type: LoadBalancer\n'
    + '  selector:\n    app: echo\n  ports:\n  - port: 80\n    targetPort: 8080\n';
  const r = await k(['apply', '-f', '-'], `${pool}---\n${svc}`);
  t.is(r.code, 0, r.stderr);
  const ip = await until(['-n', 'default', 'get', 'svc', 'echo', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'], (o) => o !== '');
  t.true(['127.0.40.10', '127.0.40.11', '127.0.40.12'].includes(ip), ip);
  const cond = await k(['-n', 'default', 'get', 'svc', 'echo', '-o', 'jsonpath={.status.conditions[?(@.type=="cilium.io/IPAMRequestSatisfied")].status}']);
  t.is(cond.stdout, 'True');
});

real('the operator still runs', (t) => {
  const c = /** @type {NonNullable<typeof cluster>} */ (cluster);
  t.deepEqual(c.procs.map((p) => [p.name, p.alive()]).at(-1), ['cilium-operator-generic', true], c.procs.at(-1)?.tail());
});
