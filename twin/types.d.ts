// The twin's shared shapes: one process holds both simulated clusters so that the
// mesh and the data plane can see both.
import type { Store } from './store/store.mjs';

export type TwinKey = 'a' | 'b';

export interface TwinNode {
  name: string;
  /** InternalIP, always in 127.0.0.0/8. */
  ip: string;
}

/** Delays in milliseconds; 0 everywhere for benchmarks. */
export interface TwinDelays {
  /** A Deployment/DaemonSet pod becomes ready this long after it is (re)created. */
  podReadyMs: number;
  /** A pod that is scaled away stops serving after this long. */
  podTerminateMs: number;
  /** CRDs registered by the operator become Established after this long. */
  crdEstablishMs: number;
  /** LB-IPAM assigns an IP this long after a Service appears. */
  lbAssignMs: number;
  /** A deleted namespace stays Terminating this long before its content and it go (the API server's default: 100 ms). */
  namespaceDeleteMs?: number;
}

export interface TwinFaults {
  /** Added to every API request, ms. */
  latencyMs: number;
  /** 0..1: share of API requests that fail transiently (HTTP 500 or a dropped connection). */
  errorRate: number;
  /** errorRate applies only to requests whose User-Agent matches (all when unset): /^kubectl\// or /^cilium-cli\//. */
  userAgent?: RegExp;
  /** Fails (HTTP 500) each request for which it returns true, whoever sends it: a fault aimed at one request. */
  failWhen?: (method: string, path: string) => boolean;
}

export interface TwinOptions {
  /** Folder for certificates and kubeconfigs. */
  dir: string;
  /** Context names in the merged kubeconfig. */
  contexts: Record<TwinKey, string>;
  /** Reported gitVersion, e.g. "v1.33.5+k3s1". */
  k3sVersion: string;
  /** Nodes per cluster (names k3s-<key>-server, k3s-<key>-agent-1 …). */
  nodeCount: number;
  /** First node IP per cluster; following nodes count up. Must be in 127.0.0.0/8. */
  nodeIpBase: Record<TwinKey, string>;
  delays: TwinDelays;
  faults: TwinFaults;
  /** K3s runs its ServiceLB (started without `--disable=servicelb`): svclb takes LoadBalancer Services without a loadBalancerClass. */
  servicelb?: boolean;
}

export interface TwinServerHandle {
  /** https://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Stops accepting and drops open connections (a stopped API server). */
  stop(): Promise<void>;
  /** Starts again on the same port. */
  start(): Promise<void>;
  /** Counters since start: requests by method, and mutating ones (not dry-run). */
  stats(): { requests: number; reads: number; writes: number; byMethod: Record<string, number> };
  resetStats(): void;
  faults: TwinFaults;
}

export interface TwinCluster {
  key: TwinKey;
  context: string;
  store: Store;
  server: TwinServerHandle;
  nodes: TwinNode[];
  /** K3s-style kubeconfig of this cluster alone (everything named "default"). */
  k3sKubeconfig: string;
}

export interface Twin {
  options: TwinOptions;
  dir: string;
  /** Merged kubeconfig with both contexts. */
  kubeconfig: string;
  clusters: Record<TwinKey, TwinCluster>;
  stop(): Promise<void>;
}

/** What controllers and the data plane hand back so the twin can stop them. */
export interface Stoppable {
  stop(): Promise<void> | void;
}
