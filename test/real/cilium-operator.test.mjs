// @ts-check
// The real cilium-operator-generic (npm run build:real) on a real-backend
// cluster: it registers Cilium's CRDs and its LB-IPAM gives a LoadBalancer
// Service an address out of a CiliumLoadBalancerIPPool. Skipped, saying so,
// when a binary is not built.
import { clusterBinaries, startCluster } from '../../tools/real-backend/cluster.mjs';
import { startOperator } from '../../tools/real-backend/operator.mjs';
import { realBinary } from '../../tools/build-real.mjs';
import { realBackend } from '../support/real-backend.mjs';
import { scaled } from '../support/time.mjs';

const operator = realBinary('cilium-operator-generic');
const missing = [...clusterBinaries({ controllers: true }).missing, ...(operator.built ? [] : [`${operator.bin} ${operator.version}`])];
const { real, k, until: poll, cluster } = realBackend(missing, async (dir) => {
  const c = await startCluster({ dir, controllers: true, readyMs: scaled(120_000), removeDir: true });
  c.procs.push(await startOperator({ bin: operator.path, dir: c.dir, kubeconfig: c.kubeconfig, host: '127.0.0.1',
    readyMs: scaled(120_000), config: {
      // cilium-config keys as the chart renders them for the runbook (cluster-pool IPAM, IPv4 only).
      'cluster-name': 'cluster-a', 'cluster-id': '1', 'identity-allocation-mode': 'crd',
      'enable-ipv4': 'true', 'enable-ipv6': 'false', ipam: 'cluster-pool', 'cluster-pool-ipv4-cidr': '10.42.0.0/16', 'cluster-pool-ipv4-mask-size': '24',
    } }).catch(async (e) => { await c.stop(); throw e; }));
  return c;
});
/** The operator registers CRDs and allocates after its leader start: a longer deadline. @type {typeof poll} */
const until = (args, ok) => poll(args, ok, 90_000);

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
  const c = cluster();
  t.deepEqual(c.procs.map((p) => [p.name, p.alive()]).at(-1), ['cilium-operator-generic', true], c.procs.at(-1)?.tail());
});
