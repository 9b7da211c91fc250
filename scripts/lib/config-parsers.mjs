// @ts-check
// Parsers for the settings table: each takes a variable's trimmed text and a
// `say` that records a problem for that variable, and returns the value, or null
// when the text cannot be used. The messages are the runbook's words to the user.
import { NetError, parseIPv4, parseCidr, formatCidr } from './net.mjs';

/**
 * @typedef {(text: string, say: (message: string) => void) => any} Parser
 *   the parsed value, or null (after `say`) when the text cannot be used
 */

/** @param {string} s */
export const q = (s) => JSON.stringify(s);

/**
 * Seconds from "90s", "5m", "1m30s", "1h", or plain seconds "90"; null when unparseable.
 * @param {string} text
 * @returns {number | null}
 */
export function parseDuration(text) {
  if (/^\d+$/.test(text)) return Number(text);
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!m || text === '') return null;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

export const CLUSTER_NAME_RE = /^([a-z0-9][-a-z0-9]*)?[a-z0-9]$/;
const DNS1123_LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL_RE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const METRIC_RE = /^[A-Za-z][A-Za-z0-9-]*(:[^,\s]+)?$/;

/** Any text (emptiness is the table's `empty`). @type {Parser} */
export const text = (v) => v;

/**
 * A whole number from min to max.
 * @param {number} min
 * @param {number} max
 * @param {string} rangeText what the range means, for the message
 * @returns {Parser}
 */
export const integer = (min, max, rangeText) => (v, say) => {
  if (!/^[+-]?\d+$/.test(v)) {
    say(`${q(v)} is not a whole number; ${rangeText}`);
    return null;
  }
  const n = Number(v);
  if (n < min || n > max) {
    say(`is ${n}; ${rangeText}`);
    return null;
  }
  return n;
};

export const port = integer(1, 65535, 'a port number must be from 1 to 65535');

/** true or false, in any case. @type {Parser} */
export const boolean = (v, say) => {
  const lower = v.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  say(`${q(v)} is not a boolean; write true or false`);
  return null;
};

/** Seconds, more than 0. @type {Parser} */
export const duration = (v, say) => {
  const seconds = parseDuration(v);
  if (seconds === null) {
    say(`${q(v)} is not a duration; write e.g. 90s, 5m, 1m30s, 1h or plain seconds like 90`);
    return null;
  }
  if (seconds <= 0) {
    say(`is ${q(v)}; a timeout must be longer than 0 seconds`);
    return null;
  }
  return seconds;
};

/**
 * Wraps a net.mjs parser: its NetError message becomes the problem.
 * @param {(text: string) => any} parse
 * @returns {Parser}
 */
const net = (parse) => (v, say) => {
  try {
    return parse(v);
  } catch (err) {
    if (err instanceof NetError) {
      say(err.message);
      return null;
    }
    throw err;
  }
};

/** An IPv4 address, as a number. */
export const ipv4 = net(parseIPv4);
/** An IPv4 network address with prefix. */
export const cidr = net(parseCidr);

/** A pod CIDR: a network cluster-pool IPAM can hand /24s from (kept for the overlap checks when too small). @type {Parser} */
export const podCidr = (v, say) => {
  const pod = cidr(v, say);
  if (pod && pod.prefix > 24) {
    say(`${formatCidr(pod)} is too small: cluster-pool IPAM gives each node a /24 from it, so use a prefix of /24 or shorter, like /16`);
  }
  return pod;
};

/** major.minor.patch, an optional v and pre-release; returned without the v. @type {Parser} */
export const ciliumVersion = (v, say) => {
  const m = /^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/.exec(v);
  if (m) return m[1];
  say(`${q(v)} is not a Cilium version; write major.minor.patch, like 1.19.3`);
  return null;
};

/**
 * A Cilium cluster name.
 * @param {string} key the cluster, for the example
 * @returns {Parser}
 */
export const clusterName = (key) => (name, say) => {
  if (name.length > 32) {
    say(`${q(name)} is ${name.length} characters long; Cilium allows at most 32`);
  } else if (name === 'default') {
    say(
      `"default" cannot be used: K3s kubeconfigs call every cluster "default", and ClusterMesh refuses a cluster named default ("local cluster has the default name"); pick a unique name like cluster-${key}`,
    );
  } else if (!CLUSTER_NAME_RE.test(name)) {
    const lower = name.toLowerCase();
    say(
      `${q(name)} is not a valid cluster name: use lower-case letters, digits and '-', starting and ending with a letter or digit` +
        (lower !== name && CLUSTER_NAME_RE.test(lower) ? ` (e.g. ${lower})` : ''),
    );
  } else {
    return name;
  }
  return null;
};

/**
 * An image reference: no whitespace.
 * @param {string} key the cluster, for the example
 * @returns {Parser}
 */
export const image = (key) => (v, say) => {
  if (/\s/.test(v)) say(`${q(v)} contains whitespace; an image reference has none (like mcbtaguiad/web-echo:cluster-${key})`);
  return v;
};

/** LoadBalancer or NodePort, exactly. @type {Parser} */
export const serviceType = (v, say) => {
  if (v === 'LoadBalancer' || v === 'NodePort') return v;
  const fixed = ['LoadBalancer', 'NodePort'].find((t) => t.toLowerCase() === v.toLowerCase());
  say(
    fixed
      ? `write ${fixed} exactly: the cilium CLI's --service-type is case-sensitive`
      : `${q(v)} must be LoadBalancer or NodePort (cilium clustermesh enable --service-type; on K3s it cannot be auto-detected)`,
  );
  return null;
};

/** Hubble metric names, comma-separated; '' is none. @type {Parser} */
export const metricList = (v, say) => {
  if (v === '') return [];
  const metrics = v.split(',').map((m) => m.trim());
  const bad = metrics.filter((m) => m !== '' && !METRIC_RE.test(m));
  const dupes = metrics.filter((m, i) => m !== '' && metrics.indexOf(m) !== i);
  if (metrics.includes('')) {
    say(`${q(v)} has an empty entry (two commas in a row, or one at an end); write e.g. dns,drop,tcp,flow`);
  } else if (bad.length) {
    say(
      `${q(v)} is not a comma-separated list of metric names (${bad.map((m) => q(m)).join(', ')} ${bad.length === 1 ? 'is' : 'are'} not a name); write e.g. dns,drop,tcp,flow`,
    );
  } else if (dupes.length) {
    say(`lists ${[...new Set(dupes)].join(', ')} more than once`);
  }
  return metrics;
};

/** A namespace name (DNS-1123 label). @type {Parser} */
export const namespace = (v, say) => {
  if (v.length <= 63 && DNS1123_LABEL_RE.test(v)) return v;
  say(`${q(v)} is not a valid namespace name: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit`);
  return null;
};

/** A Service name (DNS-1035 label). @type {Parser} */
export const serviceName = (v, say) => {
  if (v.length <= 63 && DNS1035_LABEL_RE.test(v)) return v;
  say(`${q(v)} is not a valid Service name: at most 63 lower-case letters, digits and '-', starting with a letter and ending with a letter or digit`);
  return null;
};

/** local, remote, or '' (no annotation). @type {Parser} */
export const affinity = (v, say) => {
  if (v === 'local' || v === 'remote' || v === '') return v;
  if (v.toLowerCase() === 'none') {
    say(
      `"${v}" drops all remote backends since Cilium 1.18.10 (cilium/cilium#46623), so failover would never reach the other cluster; leave ECHO_AFFINITY empty to leave the annotation out`,
    );
  } else {
    say(`${q(v)} must be local, remote, or empty (no service.cilium.io/affinity annotation)`);
  }
  return null;
};
