// Shared types of the runbook. The config is loaded and validated once
// (scripts/lib/config.mjs) and then handed, frozen, to every step.

export type ClusterKey = 'a' | 'b';

/** One of the two clusters, as the env file describes it. */
export interface ClusterConfig {
  /** 'a' or 'b': which env variables (CLUSTER_A_* / CLUSTER_B_*) it came from. */
  key: ClusterKey;
  /** 'A' or 'B', for messages. */
  label: 'A' | 'B';
  /** kubeconfig context (kubectl --context, cilium --context). */
  context: string;
  /** Cilium cluster.name: unique in the mesh, ≤ 32 chars, DNS-label-like, not "default". */
  name: string;
  /** Cilium cluster.id, 1–255, unique in the mesh. */
  id: number;
  /** Pod CIDR handed to Cilium's cluster-pool IPAM (ipam.operator.clusterPoolIPv4PodCIDRList). */
  podCidr: string;
  /** The cluster's service CIDR (K3s --service-cidr); used for validation only. */
  serviceCidr: string;
  /** k8sServiceHost: the API server address every node can reach. */
  apiHost: string;
  /** k8sServicePort. */
  apiPort: number;
  /** The API server URL of the context in the kubeconfig (for messages). */
  server: string;
  /** The single LoadBalancer IP of this cluster's clustermesh-apiserver. */
  meshIp: string;
  /** The LoadBalancer IP range for apps (the echo service takes one). */
  appPool: { start: string; stop: string };
  /** Echo image for this cluster (the tag tells the clusters apart). */
  echoImage: string;
  /** Text the echo page of this cluster shows (e.g. "Cluster A"). */
  echoPage: string;
}

export interface HubbleConfig {
  enabled: boolean;
  relay: boolean;
  ui: boolean;
  /** hubble.metrics.enabled, e.g. ["dns","drop","tcp","flow","port-distribution","icmp","http"]. */
  metrics: string[];
}

export interface EchoConfig {
  namespace: string;
  /** Deployment and Service name. */
  name: string;
  replicas: number;
  /** Port of the echo Service (the article: 80). */
  servicePort: number;
  /** Container port (the article: 80). */
  targetPort: number;
  /** service.cilium.io/affinity; '' leaves the annotation out. */
  affinity: 'local' | 'remote' | '';
}

/** Timeouts in seconds. */
export interface Timeouts {
  /** cilium status --wait after install. */
  cilium: number;
  /** CRDs Established, pools, LB IPs. */
  resources: number;
  /** clustermesh status --wait. */
  mesh: number;
  /** kubectl rollout status. */
  rollout: number;
  /** one HTTP request to a VIP. */
  http: number;
  /** the failover drill: how long B's VIP may take to answer from A. */
  failover: number;
}

export interface Config {
  /** The env file that was read, or null when none exists and the environment alone was used. */
  envFile: string | null;
  /** The kubeconfig path(s) as kubectl would see them (KUBECONFIG). */
  kubeconfig: string;
  /**
   * Step 00's inputs, the two kubeconfigs as they come off the K3s servers
   * (CLUSTER_A/B_K3S_KUBECONFIG), or null when they are not given (no step 00).
   * Step 00 writes them into KUBECONFIG's first file as the clusters' contexts,
   * with the server ClusterConfig.server.
   */
  k3s: { a: K3sInput; b: K3sInput } | null;
  ciliumVersion: string;
  a: ClusterConfig;
  b: ClusterConfig;
  /** [a, b], in that order. */
  clusters: readonly [ClusterConfig, ClusterConfig];
  meshServiceType: 'LoadBalancer' | 'NodePort';
  hubble: HubbleConfig;
  echo: EchoConfig;
  timeouts: Timeouts;
}

/** A kubeconfig as a K3s server writes it (/etc/rancher/k3s/k3s.yaml): names and server only. */
export interface K3sInput {
  /** Absolute path, symlinks resolved. */
  file: string;
  /** Its one context, and the cluster and user that context names (K3s: all "default"). */
  context: string;
  cluster: string;
  user: string;
  /** Its server URL (K3s: https://127.0.0.1:6443). */
  server: string;
}

/** One problem found while validating the config: the variable and what is wrong. */
export interface ConfigProblem {
  variable: string;
  message: string;
}
