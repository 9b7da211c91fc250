// Shapes of the API server and of a running twin, extending the shared ones in
// twin/types.d.ts without changing them (a RunningTwin is a Twin).
import type {
  Twin, TwinCluster, TwinKey, TwinOptions, TwinServerHandle, TwinDelays, TwinFaults,
} from '../types.js';

/** One request as the API server's log keeps it. */
export interface RequestLogEntry {
  /** ISO time the request arrived. */
  time: string;
  method: string;
  path: string;
  /** Query string without "?". */
  query: string;
  /** HTTP status; 0 when the connection was dropped before an answer. */
  status: number;
  /** Time to the end of the answer (a watch: its whole life). */
  ms: number;
  /** Content-Type of the request body, when it had one. */
  contentType?: string;
  /** Set when an injected fault ended the request. */
  fault?: 'error' | 'drop';
}

export interface ApiServerStats {
  /** Every request that reached the server. */
  requests: number;
  /** GET/HEAD (incl. watch, discovery, OpenAPI). */
  reads: number;
  /** POST/PUT/PATCH/DELETE that are not dry runs. */
  writes: number;
  /** POST/PUT/PATCH/DELETE with dryRun=All. */
  dryRuns: number;
  byMethod: Record<string, number>;
}

/** What twin/server/index.mjs hands out: the shared handle plus test helpers. */
export interface ApiServerHandle extends TwinServerHandle {
  /** False between stop() and start(). */
  readonly running: boolean;
  stats(): ApiServerStats;
  /** The last requests (500 by default), oldest first. */
  requests(): RequestLogEntry[];
  /** Requests still open (watches, slow ones): the log has a request only once it ends. */
  inFlight(): RequestLogEntry[];
  clearRequests(): void;
  /** What runs in a container that pods/exec reaches (twin/agents). */
  setExecModel(model: import('./exec.mjs').ExecModel): void;
  /** Stops for good: also ends timers and store listeners. */
  close(): Promise<void>;
}

/** TwinOptions with what startTwin adds. */
export interface RunningTwinOptions extends TwinOptions {
  /** Service CIDR per cluster (--service-cidr); ClusterIPs come from it (README: 10.96.0.0/12, 10.112.0.0/12). */
  serviceCidr: Record<TwinKey, string>;
  /** Cluster CIDR per cluster (--cluster-cidr); node pod CIDRs are its /24s (README: 10.42.0.0/16, 10.43.0.0/16). */
  podCidr: Record<TwinKey, string>;
  /** Remove `dir` in stop() (default false: the folder stays for inspection). */
  cleanup: boolean;
  /** Start the controllers (default true; API tests turn them off to drive status themselves). */
  controllers: boolean;
  /** Start the data plane (default true). */
  dataplane: boolean;
}

/** Options of startTwin: everything optional, nested records may be partial. */
export interface TwinStartOptions {
  dir?: string;
  contexts?: Partial<Record<TwinKey, string>>;
  k3sVersion?: string;
  nodeCount?: number;
  nodeIpBase?: Partial<Record<TwinKey, string>>;
  delays?: Partial<TwinDelays>;
  faults?: Partial<TwinFaults>;
  servicelb?: boolean;
  serviceCidr?: Partial<Record<TwinKey, string>>;
  podCidr?: Partial<Record<TwinKey, string>>;
  /** Told when the twin stops itself: an address it must serve is taken (default: printed on stderr). */
  onFatal?: (err: Error) => void;
  cleanup?: boolean;
  controllers?: boolean;
  dataplane?: boolean;
}

export interface RunningTwinCluster extends TwinCluster {
  server: ApiServerHandle;
  /** Folder of this cluster's certificates and K3s-style kubeconfig. */
  dir: string;
}

export interface RunningTwin extends Twin {
  options: RunningTwinOptions;
  clusters: Record<TwinKey, RunningTwinCluster>;
  /** What startDataplane returned (its own handle), undefined when not started. */
  dataplane: unknown;
  /** The first two octets of the addresses this twin serves, e.g. "127.5" (claimed when not given). */
  net: string;
}
